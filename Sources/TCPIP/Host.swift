import Foundation
import Synchronization
import TCPIPCore
import TCPIPDrivers

/// What a `Host` is made of: the stack's configuration and the optional pcap file and fault
/// injection on its device.
public struct HostConfiguration: Sendable {
    /// The stack's interfaces, gateway and tunables.
    public var stack: StackConfiguration
    /// Seed of the stack's randomness; nil: from the system's entropy.
    public var seed: UInt64?
    /// Write every frame the stack sends or receives to this pcap file.
    public var pcapPath: String?
    /// Faults applied to frames in both directions between the device and the stack.
    public var faults: FaultConfiguration = .none
    /// Seed of the fault injector.
    public var faultSeed: UInt64 = 1

    /// A configuration for this stack.
    public init(stack: StackConfiguration, seed: UInt64? = nil, pcapPath: String? = nil) {
        self.stack = stack
        self.seed = seed
        self.pcapPath = pcapPath
    }
}

/// An application that runs on the host's owner thread, driven by socket events — no thread
/// hop per packet (DESIGN §4).
public protocol HostApplication: AnyObject {
    /// Called once on the owner thread before the first frame is read.
    func start(stack: inout Stack, effects: inout Effects) throws(Errno)
    /// Called on the owner thread for every socket event.
    func handle(_ event: SocketEvent, stack: inout Stack, effects: inout Effects)
}

/// One stack, its device and the thread that owns them.
///
/// The device is any `NetworkDevice` — a TAP interface, one end of an in-memory pair. The owner
/// thread waits on the device's readiness descriptor, a wake-up eventfd and the stack's next
/// deadline; receives every queued frame into the stack, a batch at a time; fires due timers;
/// transmits the stack's outgoing frames as one batch; and wakes callers whose socket calls can
/// now complete. Other threads make socket calls through `call`, which queues the call to the
/// owner and waits.
public final class Host: @unchecked Sendable {
    /// The configuration the host was made with.
    public let configuration: HostConfiguration
    /// The device the stack's frames move through.
    public let device: any NetworkDevice
    let wake: EventFD
    let pcap: PcapWriter?
    // Owner-thread state.
    var stack: Stack
    var effects = Effects()
    var waiters: [Waiter] = []
    var applications: [any HostApplication] = []
    var observers: [(SocketEvent) -> Void] = []
    var faultPipe: MemoryWire?
    /// Received frames, reused for every batch (nothing allocated per frame).
    var receiveBatch = FrameBatch(maxFrames: Host.receiveBatchSize)
    var spareEvents: [SocketEvent] = []
    var spareRequests: [Waiter] = []
    // Shared state.
    let requests = Mutex<[Waiter]>([])
    let running = Atomic<Bool>(false)
    let stopped = DispatchSemaphore(value: 0)
    var thread: Thread?

    /// Frames received per batch; a turn of the owner loop takes at most
    /// `receiveBatchesPerTurn` batches, so timers and calls keep their turn under a flood.
    static let receiveBatchSize = 64
    static let receiveBatchesPerTurn = 4

    /// Attaches a stack to `device` (a `TAPDevice`, a `MemoryDevice`, …). Fails when the pcap
    /// file cannot be created, or when the device frames IP datagrams without Ethernet (L3),
    /// which the stack does not speak yet.
    public init(configuration: HostConfiguration, device: any NetworkDevice) throws(DriverError) {
        guard device.capabilities.medium == .ethernet else {
            throw DriverError(
                device: device.name,
                operation: "cannot attach a stack: it needs Ethernet (L2) framing",
                code: EINVAL
            )
        }
        self.configuration = configuration
        self.device = device
        wake = try EventFD()
        if let path = configuration.pcapPath {
            pcap = try PcapWriter(path: path, epochOffsetNanoseconds: MonotonicClock.epochOffsetNanoseconds())
        } else {
            pcap = nil
        }
        stack = Stack(configuration: configuration.stack, seed: configuration.seed ?? SystemEntropy.seed())
        if !configuration.faults.isNone {
            faultPipe = MemoryWire(endpoints: 2, faults: configuration.faults, seed: configuration.faultSeed)
        }
    }

    /// Adds an application; call before `start`.
    public func add(_ application: any HostApplication) { applications.append(application) }

    /// Adds an observer of socket events (called on the owner thread); call before `start`.
    public func observe(_ observer: @escaping (SocketEvent) -> Void) { observers.append(observer) }

    /// Sets the stack's trace sink (called on the owner thread); call before `start`.
    public func trace(_ sink: @escaping (TraceEvent) -> Void) { stack.traceSink = sink }

    /// Starts the applications, then the owner thread. Fails with the first application's error.
    public func start() throws(Errno) {
        stack.advance(to: MonotonicClock.now(), into: &effects)
        for app in applications { try app.start(stack: &stack, effects: &effects) }
        running.store(true, ordering: .sequentiallyConsistent)
        let t = Thread { [self] in
            self.run()
            self.stopped.signal()
        }
        t.name = "tcpip-host"
        thread = t
        t.start()
    }

    /// Stops the owner thread, fails waiting calls with a timeout, and flushes the pcap file.
    public func stop() {
        guard running.exchange(false, ordering: .sequentiallyConsistent) else { return }
        wake.signal()
        stopped.wait()
        try? pcap?.flush()
    }

    /// Runs `attempt` on the owner thread, again after every socket event, until it returns a
    /// value or `timeout` nanoseconds pass (nil: no limit; 0: one try). Returns nil on timeout.
    public func call<R: Sendable>(
        timeout: Int64?,
        _ attempt: @escaping @Sendable (inout Stack, inout Effects) -> R?
    ) -> R? {
        let box = CallResult<R>()
        let w = Waiter(
            attempt: { stack, effects in
                guard let r = attempt(&stack, &effects) else { return false }
                box.value = r
                box.done.signal()
                return true
            },
            timeout: timeout,
            expire: { box.done.signal() }
        )
        requests.withLock { $0.append(w) }
        wake.signal()
        box.done.wait()
        return box.value
    }

    /// Queues `attempt` to the owner thread without waiting: it runs there now, again after
    /// every socket event, until it returns a value or `timeout` nanoseconds pass (nil: no
    /// limit; 0: one try). `completion` is then called once, on the owner thread, with the value
    /// — or with nil on timeout, on `cancel()` of the returned call, or when the host is (or
    /// gets) stopped. Keep `completion` short: resume a continuation, signal a thread.
    ///
    /// The non-blocking form of `call`, for async code: no thread waits for the answer.
    @discardableResult
    public func submit<R: Sendable>(
        timeout: Int64?,
        attempt: @escaping @Sendable (inout Stack, inout Effects) -> R?,
        completion: @escaping @Sendable (R?) -> Void
    ) -> SubmittedCall {
        let call = SubmittedCall(host: self)
        let w = Waiter(
            attempt: { stack, effects in
                if call.isCancelled {
                    completion(nil)
                    return true
                }
                guard let r = attempt(&stack, &effects) else { return false }
                completion(r)
                return true
            },
            timeout: timeout,
            expire: { completion(nil) }
        )
        requests.withLock { $0.append(w) }
        if running.load(ordering: .sequentiallyConsistent) {
            wake.signal()
        } else {
            // Stopped (or never started): take the request back unless the owner thread's
            // final sweep already expired it, so `completion` runs exactly once.
            let mine = requests.withLock { r in
                guard let i = r.firstIndex(where: { $0 === w }) else { return false }
                r.remove(at: i)
                return true
            }
            if mine { completion(nil) }
        }
        return call
    }

    /// Retries every parked call at once (on the owner thread), so a cancelled one completes.
    func retryCancelled() {
        // Runs inside `takeRequests`, which lends it the stack: use that, not `self.stack`.
        let sweep = Waiter(
            attempt: { [self] stack, effects in
                waiters.removeAll { $0.attempt(&stack, &effects) }
                return true
            },
            timeout: 0,
            expire: {}
        )
        requests.withLock { $0.append(sweep) }
        wake.signal()
    }

    /// Runs `body` once on the owner thread and returns its result.
    public func perform<R: Sendable>(_ body: @escaping @Sendable (inout Stack, inout Effects) -> R) -> R {
        call(timeout: nil) { s, e in body(&s, &e) }!
    }

    // MARK: - The owner thread

    func run() {
        var poller = Poller(fds: [device.readinessDescriptor, wake.fd])
        // What the applications' start produced (a SYN, say) goes out before the first wait.
        flush(now: MonotonicClock.now())
        while running.load(ordering: .relaxed) {
            let before = MonotonicClock.now()
            var deadline = stack.nextDeadline()
            for w in waiters {
                if let d = w.deadline, deadline == nil || d < deadline! { deadline = d }
            }
            if let d = faultPipe?.nextDelivery, deadline == nil || d < deadline! { deadline = d }
            let timeout = deadline.map { max(0, $0.nanoseconds(since: before)) }
            _ = try? poller.wait(timeout: timeout)
            let now = MonotonicClock.now()
            stack.advance(to: now, into: &effects)
            if poller.isReadable(wake.fd) { _ = wake.drain() }
            takeRequests(now: now)
            readFrames(now: now)
            if faultPipe != nil {
                faultPipe!.deliverDue(now: now) { endpoint, frame in
                    if endpoint == 0 {
                        stack.receive(frame: frame, interface: 0, now: now, into: &effects)
                    } else {
                        try? device.transmit(frame, offload: .none)
                    }
                }
            }
            stack.advance(to: now, into: &effects)
            flush(now: now)
        }
        // Fail whatever still waits.
        for w in waiters { w.expire() }
        waiters.removeAll()
        for w in requests.withLock({ r in
            defer { r.removeAll() }
            return r
        }) { w.expire() }
    }

    func takeRequests(now: Instant) {
        // Swap the list out under the lock: no copy, and nothing allocated on an idle turn.
        var new = spareRequests
        requests.withLock { r in swap(&r, &new) }
        defer {
            new.removeAll(keepingCapacity: true)
            spareRequests = new
        }
        for w in new {
            if w.attempt(&stack, &effects) { continue }
            if let t = w.timeout {
                if t <= 0 {
                    w.expire()
                    continue
                }
                w.deadline = now.adding(nanoseconds: t)
            }
            waiters.append(w)
        }
    }

    func readFrames(now: Instant) {
        // Bounded per turn so timers and calls keep their turn under a flood.
        for _ in 0..<Self.receiveBatchesPerTurn {
            receiveBatch.removeAll()
            // Frames received before a failure are still in the batch.
            _ = try? device.receive(into: &receiveBatch)
            receiveBatch.forEachFrame { frame, _ in
                pcap?.write(frame: frame, at: now)
                if faultPipe != nil {
                    faultPipe!.send(from: 1, frame: frame, now: now)
                } else {
                    stack.receive(frame: frame, interface: 0, now: now, into: &effects)
                }
            }
            // Room left: the device had no more frames.
            if receiveBatch.hasRoom { break }
        }
        receiveBatch.removeAll()
    }

    /// Sends the frames the stack produced and hands out its events, until both are empty.
    func flush(now: Instant) {
        for _ in 0..<64 {
            if effects.frames.isEmpty && effects.events.isEmpty {
                expireWaiters(now: now)
                return
            }
            if pcap != nil || faultPipe != nil {
                effects.frames.forEachFrame { _, frame in
                    pcap?.write(frame: frame, at: now)
                    faultPipe?.send(from: 0, frame: frame, now: now)
                }
            }
            if faultPipe == nil { _ = try? device.transmit(effects.frames) }
            effects.frames.removeAll()
            guard !effects.events.isEmpty else { continue }
            // Take the events out (swapping arrays, so nothing is allocated): handlers may
            // produce new ones, handled on the next turn.
            var events: [SocketEvent] = []
            swap(&events, &spareEvents)
            swap(&events, &effects.events)
            for (i, e) in events.enumerated() {
                // The core reports a socket once per segment; one report per batch is enough.
                if i > 0 && events[i - 1] == e { continue }
                for o in observers { o(e) }
                for app in applications { app.handle(e, stack: &stack, effects: &effects) }
            }
            events.removeAll(keepingCapacity: true)
            spareEvents = events
            retryWaiters()
        }
    }

    func retryWaiters() {
        guard !waiters.isEmpty else { return }
        waiters.removeAll { $0.attempt(&stack, &effects) }
    }

    func expireWaiters(now: Instant) {
        waiters.removeAll { w in
            guard let d = w.deadline, d <= now else { return false }
            w.expire()
            return true
        }
    }
}

/// A call queued with `Host.submit`.
public final class SubmittedCall: Sendable {
    let host: Host
    let cancelled = Atomic<Bool>(false)

    init(host: Host) { self.host = host }

    var isCancelled: Bool { cancelled.load(ordering: .sequentiallyConsistent) }

    /// Ends the call early: unless it has already completed, its completion is called with nil
    /// on the owner thread, soon. Calling it again does nothing.
    public func cancel() {
        guard !cancelled.exchange(true, ordering: .sequentiallyConsistent) else { return }
        host.retryCancelled()
    }
}

/// A call parked on the owner thread until it can complete or its time runs out.
final class Waiter: @unchecked Sendable {
    let attempt: (inout Stack, inout Effects) -> Bool
    let timeout: Int64?
    var deadline: Instant?
    let expire: () -> Void

    init(attempt: @escaping (inout Stack, inout Effects) -> Bool, timeout: Int64?, expire: @escaping () -> Void) {
        self.attempt = attempt
        self.timeout = timeout
        self.expire = expire
    }
}

final class CallResult<R>: @unchecked Sendable {
    var value: R?
    let done = DispatchSemaphore(value: 0)
}
