import TCPIPCore

/// Several `Stack`s joined by one `MemoryWire` under a virtual clock: the deterministic
/// network that core tests, simulations and the teaching demo run on.
///
/// Stack `i` is endpoint `i` of the wire; its interface 0 is the one attached (frames a stack
/// sends by any interface go onto the wire). Time only moves when the network is stepped: each
/// `step()` jumps to the next event — the wire's next delivery or the earliest deadline of any
/// stack — delivers every frame due then, fires every timer due then, and puts whatever those
/// produced on the wire. Everything is decided by the seed (each stack's random choices, the
/// wire's faults), so the same seed gives the same frames at the same times.
///
/// ```swift
/// var net = SimulatedNetwork(stacks: [a, b], seed: 7, latency: 500_000)
/// let fd = net.perform(on: 0) { stack, _ in try! stack.socket(.dgram).get() }
/// _ = net.perform(on: 0) { stack, effects in stack.sendTo(fd, bytes, address: b, port: 7, into: &effects) }
/// net.run(for: 10_000_000)
/// ```
public struct SimulatedNetwork {
    /// A socket event a stack produced, with the virtual time it happened.
    public struct LoggedEvent: Sendable, Equatable {
        /// When the event happened.
        public var time: Instant
        /// The event.
        public var event: SocketEvent
    }

    /// The stacks, by index (the wire endpoint of each).
    public private(set) var stacks: [Stack]
    /// The wire joining them, with its fault injectors and counters.
    public private(set) var wire: MemoryWire
    /// The virtual time: the instant of the last event handled or the last `run` target.
    public private(set) var now: Instant = .zero
    /// Every socket event each stack produced, in order (index = stack).
    public private(set) var eventLog: [[LoggedEvent]]
    /// Steps taken so far.
    public private(set) var steps = 0
    /// Frames put on the wire so far (before faults: a lost frame counts, a duplicate once).
    public private(set) var framesSent = 0
    /// A running FNV-1a 64-bit hash of every frame put on the wire, with its time and sender:
    /// two runs that sent the same frames at the same times have the same hash.
    public private(set) var traceHash: UInt64 = SimulatedNetwork.fnvOffsetBasis

    /// Called with every frame a stack puts on the wire: (time, sending stack, frame bytes —
    /// valid only during the call). The frame is seen as sent, before the wire's faults.
    public var observer: ((Instant, Int, UnsafeRawBufferPointer) -> Void)?
    /// Called with every frame the wire hands to a stack, just before the stack reads it:
    /// (time, receiving stack, frame bytes — valid only during the call), after the faults.
    public var deliveryObserver: ((Instant, Int, UnsafeRawBufferPointer) -> Void)?
    /// When set, every frame put on the wire is also written here, stamped with virtual time.
    public var pcap: PcapWriter?
    /// When set, asked about every frame put on the wire (after `observer` and `pcap` saw it,
    /// as a capture at the sender would): returning true loses that one frame on the wire. A
    /// chosen, deterministic fault, next to the wire's random ones: (time, sender, frame bytes
    /// — valid only during the call).
    public var lossFilter: ((Instant, Int, UnsafeRawBufferPointer) -> Bool)?
    /// Frames `lossFilter` chose to lose.
    public private(set) var framesLostByFilter = 0

    /// One `Effects` reused for every call (taken out while in use), so that a steady state
    /// allocates no frame arena.
    private var spareEffects: Effects? = Effects()
    /// Frames due at the current instant, copied off the wire before they are fed to stacks.
    private var arrivals: [(endpoint: Int, bytes: [UInt8])] = []

    /// Builds one stack per configuration and joins them on a wire.
    ///
    /// - Parameters:
    ///   - stacks: one configuration per stack; stack `i` is wire endpoint `i`.
    ///   - seed: decides every stack's random choices and every fault on the wire.
    ///   - faults: what the wire does to frames, independently in each direction.
    ///   - latency: one-way delay of every delivery, in nanoseconds.
    public init(
        stacks configurations: [StackConfiguration],
        seed: UInt64,
        faults: FaultConfiguration = .none,
        latency: Int64 = 0
    ) {
        precondition(!configurations.isEmpty, "a simulated network needs at least one stack")
        stacks = configurations.enumerated().map { i, c in
            Stack(configuration: c, seed: Self.stackSeed(seed, index: i))
        }
        wire = MemoryWire(endpoints: configurations.count, faults: faults, seed: seed, latency: latency)
        eventLog = Array(repeating: [], count: configurations.count)
    }

    // MARK: - Driving

    /// Runs a socket call (or anything else) on stack `i` at the current virtual time, then
    /// puts the frames it produced on the wire and logs its socket events. Timers of the stack
    /// that are due by now fire first, so the stack sees the current time.
    public mutating func perform<R>(on i: Int, _ body: (inout Stack, inout Effects) -> R) -> R {
        precondition(i >= 0 && i < stacks.count, "no stack \(i)")
        var fx = takeEffects()
        stacks[i].advance(to: now, into: &fx)
        flush(&fx, from: i)
        let result = body(&stacks[i], &fx)
        flush(&fx, from: i)
        spareEffects = fx
        return result
    }

    /// Feeds a hand-built frame straight into stack `i`'s interface 0 at the current time
    /// (bypassing the wire and its faults), then transmits what the stack answered.
    public mutating func inject(_ frame: UnsafeRawBufferPointer, into i: Int) {
        precondition(i >= 0 && i < stacks.count, "no stack \(i)")
        var fx = takeEffects()
        stacks[i].receive(frame: frame, interface: 0, now: now, into: &fx)
        flush(&fx, from: i)
        spareEffects = fx
    }

    /// Puts a hand-built frame on the wire as if stack `i` had sent it (it passes the observer,
    /// the pcap file and the wire's faults like any other frame).
    public mutating func transmit(_ frame: UnsafeRawBufferPointer, from i: Int) {
        precondition(i >= 0 && i < stacks.count, "no stack \(i)")
        send(frame, from: i)
    }

    /// The instant of the next event: the wire's next delivery or a stack's next deadline,
    /// whichever is earlier; nil when nothing will ever happen without a socket call.
    public var nextEvent: Instant? {
        var t = wire.nextDelivery
        for s in stacks {
            if let d = s.nextDeadline(), t == nil || d < t! { t = d }
        }
        return t
    }

    /// Frames on the wire that have not been delivered yet.
    public var framesInFlight: Int { wire.pendingCount }

    /// Advances to the next event and handles it: every frame due then is delivered (earliest
    /// first, in send order), then every stack whose deadline has come fires its timers; what
    /// they produced goes on the wire. Returns false, without moving time, when there is no
    /// next event.
    @discardableResult
    public mutating func step() -> Bool {
        guard let t = nextEvent else { return false }
        advanceClock(to: t)
        return true
    }

    /// Handles every event up to and including `deadline`, then sets the clock to `deadline`.
    /// Stops early (with the clock at the last event) after `maxSteps` steps, so a stack that
    /// keeps asking to be called at the same instant cannot hang a test; returns false then.
    @discardableResult
    public mutating func run(until deadline: Instant, maxSteps: Int = 1_000_000) -> Bool {
        var taken = 0
        while let t = nextEvent, t <= deadline {
            guard taken < maxSteps else { return false }
            advanceClock(to: t)
            taken += 1
        }
        if deadline > now { now = deadline }
        return true
    }

    /// Runs for `nanoseconds` of virtual time (see `run(until:maxSteps:)`).
    @discardableResult
    public mutating func run(for nanoseconds: Int64, maxSteps: Int = 1_000_000) -> Bool {
        run(until: now.adding(nanoseconds: nanoseconds), maxSteps: maxSteps)
    }

    /// Steps until `condition` holds (checked before every step), at most `maxSteps` steps.
    /// Returns whether it held; false when the steps ran out or nothing was left to happen.
    @discardableResult
    public mutating func run(until condition: (SimulatedNetwork) -> Bool, maxSteps: Int = 100_000) -> Bool {
        var taken = 0
        while !condition(self) {
            guard taken < maxSteps, step() else { return false }
            taken += 1
        }
        return true
    }

    /// Steps until no frame is in flight (at most `maxSteps` steps): the exchanges started so
    /// far have played out, and only timers remain. Returns false when the steps ran out.
    @discardableResult
    public mutating func runUntilQuiet(maxSteps: Int = 100_000) -> Bool {
        run(until: { $0.framesInFlight == 0 }, maxSteps: maxSteps)
    }

    // MARK: - Inspecting

    /// The socket events stack `i` produced, in order.
    public func events(of i: Int) -> [SocketEvent] { eventLog[i].map(\.event) }

    /// Returns and forgets the socket events stack `i` produced so far.
    public mutating func takeEvents(of i: Int) -> [SocketEvent] {
        let e = eventLog[i].map(\.event)
        eventLog[i].removeAll()
        return e
    }

    // MARK: - Internals

    private mutating func advanceClock(to target: Instant) {
        steps += 1
        if target > now { now = target }
        let t = now
        // Copy the due frames off the wire first: a stack's answer goes back on the wire,
        // which cannot be used while it delivers.
        var arrived: [(endpoint: Int, bytes: [UInt8])] = []
        swap(&arrived, &arrivals)
        arrived.removeAll(keepingCapacity: true)
        wire.deliverDue(now: t) { endpoint, frame in arrived.append((endpoint, Array(frame))) }
        var fx = takeEffects()
        for (endpoint, bytes) in arrived {
            bytes.withUnsafeBytes { frame in
                deliveryObserver?(t, endpoint, frame)
                stacks[endpoint].receive(frame: frame, interface: 0, now: t, into: &fx)
            }
            flush(&fx, from: endpoint)
        }
        for i in stacks.indices {
            guard let d = stacks[i].nextDeadline(), d <= t else { continue }
            stacks[i].advance(to: t, into: &fx)
            flush(&fx, from: i)
        }
        spareEffects = fx
        swap(&arrived, &arrivals)
    }

    private mutating func takeEffects() -> Effects {
        guard let fx = spareEffects else { return Effects() }
        spareEffects = nil
        return fx
    }

    /// Puts stack `i`'s frames on the wire and logs its events.
    private mutating func flush(_ fx: inout Effects, from i: Int) {
        fx.frames.forEachFrame { _, frame in send(frame, from: i) }
        for e in fx.events { eventLog[i].append(LoggedEvent(time: now, event: e)) }
        fx.removeAll()
    }

    private mutating func send(_ frame: UnsafeRawBufferPointer, from i: Int) {
        framesSent += 1
        hash(now.nanoseconds)
        hash(Int64(i))
        hash(Int64(frame.count))
        for b in frame { traceHash = (traceHash ^ UInt64(b)) &* Self.fnvPrime }
        observer?(now, i, frame)
        pcap?.write(frame: frame, at: now)
        if let lose = lossFilter, lose(now, i, frame) {
            framesLostByFilter += 1
            return
        }
        wire.send(from: i, frame: frame, now: now)
    }

    private mutating func hash(_ v: Int64) {
        var x = UInt64(bitPattern: v)
        for _ in 0..<8 {
            traceHash = (traceHash ^ (x & 0xFF)) &* Self.fnvPrime
            x >>= 8
        }
    }

    private static let fnvOffsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    private static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3

    /// A seed for stack `index`, mixed from the network's seed (splitmix64).
    private static func stackSeed(_ seed: UInt64, index: Int) -> UInt64 {
        var z = (seed ^ 0x5AD0_5AD0_5AD0_5AD0) &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(index + 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
