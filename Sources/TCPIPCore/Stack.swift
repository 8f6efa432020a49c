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
    /// The routing table.
    public internal(set) var routes = RoutingTable()
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
    /// Owners of datagrams the link layer could not deliver, reused between timer runs.
    var resolutionFailures: [PacketOwner] = []
    var reassembly: Reassembly
    var sockets: SocketTable
    var udp = UDPBindings()
    var tcp: TCPTable
    var icmpLimiter: TokenBucket
    var nextIPIdentification: UInt16
    /// Reused buffer for copies that must leave the frame arena (fragmentation, ARP queue).
    var scratch: [UInt8] = []
    /// Outstanding pings: identifier → (sequence → payload checksum), bounded.
    var pings = Pings()

    /// Creates a stack. `seed` determines every random choice it makes (ephemeral ports, IP
    /// identifications, ISNs): give it entropy in production and a fixed value in tests.
    public init(configuration: StackConfiguration, seed: UInt64) {
        self.configuration = configuration
        context = LayerContext(interfaces: configuration.interfaces)
        random = SeededRandom(seed: seed)
        link = LinkLayer(configuration: configuration)
        reassembly = Reassembly(configuration: configuration)
        sockets = SocketTable(limit: configuration.maxSockets)
        icmpLimiter = TokenBucket(
            ratePerSecond: configuration.icmpErrorsPerSecond,
            burst: configuration.icmpErrorBurst
        )
        nextIPIdentification = UInt16(truncatingIfNeeded: random.next())
        tcp = TCPTable(configuration: configuration.tcp, random: &random)
        for (i, iface) in configuration.interfaces.enumerated() {
            routes.add(.init(destination: iface.network, interface: i))
        }
        if let gw = configuration.gateway, let first = routes.lookup(gw) {
            routes.add(
                .init(destination: IPv4Network(address: .any, prefixLength: 0), interface: first.interface, gateway: gw)
            )
        }
    }

    /// Feeds one received Ethernet frame into the stack.
    public mutating func receive(
        frame: UnsafeRawBufferPointer,
        interface: Int,
        now: Instant,
        into effects: inout Effects
    ) {
        if now > context.now { context.now = now }
        guard let datagram = link.input(frame: frame, interface: interface, ctx: &context, effects: &effects) else {
            return
        }
        ipv4Input(datagram.payload, interface: interface, linkBroadcast: datagram.linkBroadcast, effects: &effects)
    }

    /// Fires every timer due at or before `now`.
    public mutating func advance(to now: Instant, into effects: inout Effects) {
        if now > context.now { context.now = now }
        link.timers(ctx: &context, effects: &effects, failures: &resolutionFailures)
        if !resolutionFailures.isEmpty {
            var failed: [PacketOwner] = []
            swap(&failed, &resolutionFailures)
            for owner in failed { notifyUnreachable(owner, effects: &effects) }
            failed.removeAll(keepingCapacity: true)
            swap(&failed, &resolutionFailures)
        }
        reassemblyTimers(effects: &effects)
        tcpTimers(effects: &effects)
    }

    /// The earliest instant at which `advance` has work to do, or nil when no timer is set.
    public func nextDeadline() -> Instant? {
        var d = link.nextDeadline
        if let r = reassembly.nextDeadline, d == nil || r < d! { d = r }
        if let t = tcpNextDeadline, d == nil || t < d! { d = t }
        return d
    }

    /// The latest instant the stack has been told about.
    public var currentTime: Instant { now }

    /// The cached mapping for `address`, if any (for `netstat`-like views and tests).
    public func neighbor(_ address: IPv4Address) -> MACAddress? { link.mapping(for: address) }

    @inline(__always) func trace(_ event: @autoclosure () -> TraceEvent) { context.trace(event()) }

    @inline(__always) mutating func drop(_ reason: DropReason) { context.drop(reason) }

    /// True when `address` is one of ours, or a broadcast we accept (RFC 1122 §3.2.1.3).
    func isLocalOrBroadcast(_ address: IPv4Address, interface: Int) -> (local: Bool, broadcast: Bool) {
        if address == .broadcast { return (true, true) }
        for iface in interfaces {
            if iface.address == address { return (true, false) }
            if iface.network.prefixLength < 31 && iface.network.broadcastAddress == address { return (true, true) }
        }
        return (false, false)
    }

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

    /// The next IP identification (RFC 791; RFC 6864: unique per source/destination/protocol
    /// within the maximum datagram lifetime — a counter starting at a random value).
    mutating func takeIPIdentification() -> UInt16 {
        let id = nextIPIdentification
        nextIPIdentification &+= 1
        return id
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
