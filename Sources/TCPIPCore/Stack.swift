/// The protocol stack: one value holding every layer's state, driven by three kinds of event —
/// a frame arrived (`receive`), a socket call was made, time advanced (`advance`) — and
/// answering with `Effects` (frames to send, socket events) and `nextDeadline`.
///
/// It never reads a clock, sleeps, locks, logs or makes a syscall: time and randomness are
/// inputs, so a run replays exactly from its seed. One owner drives it; it is not thread-safe.
public struct Stack {
    /// The configuration the stack was made with.
    public let configuration: StackConfiguration
    /// What the layers share: the clock, the counters, the trace sink, the interfaces.
    var context: LayerContext
    /// The interfaces, by index.
    public var interfaces: [Interface] { context.interfaces }
    /// Counters of everything each layer did and dropped.
    public var counters: Counters { context.counters }
    /// Receives every trace event when set.
    public var traceSink: ((TraceEvent) -> Void)? {
        get { context.traceSink }
        set { context.traceSink = newValue }
    }

    var random: SeededRandom
    /// The latest instant the stack has been told about.
    var now: Instant { context.now }
    /// The link layer: Ethernet and ARP.
    var link: LinkLayer
    /// The network layer: IPv4, fragments, ICMP.
    var ipv4: IPv4Layer
    /// The descriptor table.
    var sockets: SocketTable
    /// UDP: the datagram endpoints and their ports.
    var udp = UDPLayer()
    /// TCP: connections, listeners' bindings, timers.
    var tcp: TCPTable
    /// While true, an ACK that in-order data owes by the every-second-segment rule waits for
    /// the end of the batch — the timers due at the same instant (`advance`) — so a batch of
    /// frames read in one wake-up draws one cumulative ACK, as Linux's GRO merges the frames of
    /// one NAPI poll. A host sets it while it feeds a batch. Out-of-order data, hole fills,
    /// probes and window updates are still answered at once (RFC 5681 §4.2).
    public var coalescesAcknowledgments = false

    /// Creates a stack. `seed` determines every random choice it makes (ephemeral ports, IP
    /// identifications, ISNs): give it entropy in production and a fixed value in tests.
    public init(configuration: StackConfiguration, seed: UInt64) {
        self.configuration = configuration
        context = LayerContext(interfaces: configuration.interfaces)
        random = SeededRandom(seed: seed)
        link = LinkLayer(configuration: configuration)
        sockets = SocketTable(limit: configuration.maxSockets)
        ipv4 = IPv4Layer(configuration: configuration, random: &random)
        tcp = TCPTable(configuration: configuration.tcp, random: &random)
    }

    /// Feeds one received Ethernet frame into the stack, with the device's offload metadata:
    /// a transport checksum the device left partial or verified is not checked again, and a
    /// TCP super-frame (`gso_type` TCPV4, the device's GRO) is taken as one segment.
    public mutating func receive(
        frame: UnsafeRawBufferPointer,
        interface: Int,
        now: Instant,
        offload: FrameOffload = .none,
        into effects: inout Effects
    ) {
        if now > context.now { context.now = now }
        if !offload.isNone {
            context.trustedChecksum = TrustedChecksum(frame: frame, offload: offload)
            if offload.isSegmented { context.count(.linkSuperFramesIn) }
        }
        defer { context.trustedChecksum = .none }
        guard let datagram = link.input(frame: frame, interface: interface, ctx: &context, effects: &effects) else {
            // ARP input may have evicted an entry, and its queued datagrams.
            return reportUndeliverable(effects: &effects)
        }
        ipv4Input(datagram.payload, linkBroadcast: datagram.linkBroadcast, effects: &effects)
    }

    /// Fires every timer due at or before `now`.
    public mutating func advance(to now: Instant, into effects: inout Effects) {
        if now > context.now { context.now = now }
        link.timers(ctx: &context, effects: &effects)
        ipv4.timers(ctx: &context, link: &link, effects: &effects)
        tcpTimers(effects: &effects)
        reportUndeliverable(effects: &effects)
    }

    /// The earliest instant at which `advance` has work to do, or nil when no timer is set.
    public func nextDeadline() -> Instant? {
        var d = link.nextDeadline
        if let r = ipv4.nextDeadline, d == nil || r < d! { d = r }
        if let t = tcpNextDeadline, d == nil || t < d! { d = t }
        return d
    }

    /// The latest instant the stack has been told about.
    public var currentTime: Instant { now }

    /// The cached mapping for `address`, if any (for `netstat`-like views and tests).
    public func neighbor(_ address: IPv4Address) -> MACAddress? { link.mapping(for: address) }

    @inline(__always) func trace(_ event: @autoclosure () -> TraceEvent) { context.trace(event()) }

    @inline(__always) mutating func drop(_ reason: DropReason) { context.drop(reason) }

    /// A free ephemeral port chosen at random (RFC 6056 §3.3.1, Algorithm 1: a random start,
    /// then a linear search over the range), or nil when every port is taken. `start` is a random draw.
    func ephemeralPort(start: UInt64, where isFree: (UInt16) -> Bool) -> UInt16? {
        let range = configuration.ephemeralPorts
        let size = UInt64(range.upperBound - range.lowerBound) + 1
        var candidate = UInt64(range.lowerBound) + start % size
        for _ in 0..<size {
            if isFree(UInt16(candidate)) { return UInt16(candidate) }
            candidate = candidate == UInt64(range.upperBound) ? UInt64(range.lowerBound) : candidate + 1
        }
        return nil
    }
}

/// A token bucket for rate limits, refilled from the times it is given.
struct TokenBucket {
    var tokens: Int64
    let burst: Int64
    let nanosPerToken: Int64
    var last: Instant = .zero

    init(ratePerSecond: Int, burst: Int) {
        self.burst = Int64(max(1, burst))
        tokens = self.burst
        nanosPerToken = 1_000_000_000 / Int64(max(1, ratePerSecond))
    }

    /// Takes one token at `now`; false when the bucket is empty.
    mutating func take(now: Instant) -> Bool {
        let elapsed = now.nanoseconds(since: last)
        if elapsed > 0 {
            let add = elapsed / nanosPerToken
            if add > 0 {
                tokens = min(burst, tokens + add)
                last = last.adding(nanoseconds: add * nanosPerToken)
            }
            if tokens == burst { last = now }
        }
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }
}
