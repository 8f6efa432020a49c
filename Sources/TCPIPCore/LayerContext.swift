/// What every layer shares and no layer owns: the instant the stack was last told, the
/// counters, the trace sink and the interfaces it was configured with. A layer takes it as an
/// `inout` argument with its own state, so that it can count, trace and read the time without
/// reaching into another layer.
struct LayerContext {
    /// The latest instant the stack has been told about.
    var now: Instant = .zero
    /// Counters of everything each layer did and dropped.
    var counters = Counters()
    /// Receives every trace event when set.
    var traceSink: ((TraceEvent) -> Void)?
    /// The interfaces, by index (addresses, MACs, MTUs): configuration every layer reads.
    let interfaces: [Interface]
    /// Owners of datagrams a lower layer could not deliver (ARP gave up, or refused them):
    /// the stack tells each owner's transport once the layer call returns.
    var undeliverable: [PacketOwner] = []
    /// The received frame whose transport checksum the device vouches for, while it is being
    /// processed (`Stack.receive(frame:…offload:)`); `.none` otherwise.
    var trustedChecksum = TrustedChecksum.none

    init(interfaces: [Interface]) { self.interfaces = interfaces }

    /// Emits a trace event; with no sink set, the event is not even built.
    @inline(__always) func trace(_ event: @autoclosure () -> TraceEvent) {
        if let sink = traceSink { sink(event()) }
    }

    /// Counts a drop under its reason, and traces it.
    @inline(__always) mutating func drop(_ reason: DropReason) {
        counters.drop(reason)
        if let sink = traceSink { sink(.dropped(reason)) }
    }

    /// Adds `n` to a counter.
    @inline(__always) mutating func count(_ c: Counter, _ n: UInt64 = 1) { counters.count(c, n) }
}
