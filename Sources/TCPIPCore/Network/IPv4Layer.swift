/// The IPv4 network layer (RFC 791, RFC 1122 §3): routing, the IP header, fragmentation and
/// reassembly, and ICMP (RFC 792). It owns the routing table, the reassembly buffers, the
/// ICMP rate limit, the identification counter and the pings in flight.
///
/// Above it, the stack demultiplexes what `input` returns to UDP and TCP; below it, the link
/// layer takes each datagram for a next hop (`LinkLayer.outputIPv4`). An ICMP error about a
/// datagram a transport sent is returned as a `TransportError` for the stack to hand to that
/// transport; the layer never looks into a transport's tables.
struct IPv4Layer {
    /// The routing table.
    private(set) var routes = RoutingTable()
    /// Fragments being put back together.
    var reassembly: Reassembly
    /// ICMP errors are rate-limited (RFC 1812 §4.3.2.8, RFC 1122 §3.2.2).
    var icmpLimiter: TokenBucket
    var nextIdentification: UInt16
    /// Reused buffer for copies that must leave the frame arena (fragmentation).
    var scratch: [UInt8] = []
    /// Outstanding pings: identifier → (sequence → payload checksum), bounded.
    var pings = Pings()
    let defaultTTL: UInt8
    let answerBroadcastPings: Bool

    /// Link and IP header room a transport layer reserves in front of its header.
    static let headroom = EthernetHeader.size + 20

    init(configuration: StackConfiguration, random: inout SeededRandom) {
        reassembly = Reassembly(configuration: configuration)
        icmpLimiter = TokenBucket(
            ratePerSecond: configuration.icmpErrorsPerSecond,
            burst: configuration.icmpErrorBurst
        )
        nextIdentification = UInt16(truncatingIfNeeded: random.next())
        defaultTTL = configuration.defaultTTL
        answerBroadcastPings = configuration.answerBroadcastPings
        for (i, iface) in configuration.interfaces.enumerated() {
            routes.add(.init(destination: iface.network, interface: i))
        }
        if let gw = configuration.gateway, let first = routes.lookup(gw) {
            routes.add(
                .init(destination: IPv4Network(address: .any, prefixLength: 0), interface: first.interface, gateway: gw)
            )
        }
    }

    /// A datagram for the transport above, from `input`.
    enum Inbound {
        /// A datagram that arrived whole: its header and its bytes (valid during the call).
        case datagram(IPv4Header, packet: UnsafeRawBufferPointer, broadcast: Bool)
        /// A datagram put back together from fragments (RFC 791 §3.2).
        case reassembled([UInt8], broadcast: Bool)
    }

    /// The earliest time reassembly has work to do.
    var nextDeadline: Instant? { reassembly.nextDeadline }

    /// The route to `destination`, or nil when there is none (RFC 1122 §3.3.1).
    func route(to destination: IPv4Address, interfaces: [Interface]) -> RouteChoice? {
        if destination == .broadcast, !interfaces.isEmpty {
            return RouteChoice(interface: 0, nextHop: destination, source: interfaces[0].address)
        }
        guard let r = routes.lookup(destination) else { return nil }
        return RouteChoice(interface: r.interface, nextHop: r.nextHop, source: interfaces[r.interface].address)
    }

    /// True when `address` is one of ours, or a broadcast we accept (RFC 1122 §3.2.1.3).
    static func isLocalOrBroadcast(_ address: IPv4Address, interfaces: [Interface]) -> (local: Bool, broadcast: Bool) {
        if address == .broadcast { return (true, true) }
        for iface in interfaces {
            if iface.address == address { return (true, false) }
            if iface.network.prefixLength < 31 && iface.network.broadcastAddress == address { return (true, true) }
        }
        return (false, false)
    }

    /// IPv4 input (RFC 791 §3.2, RFC 1122 §3.2.1): validate, filter, reassemble. Returns the
    /// datagram for demultiplexing, or nil when it was dropped or is waiting for fragments.
    mutating func input(
        _ bytes: UnsafeRawBufferPointer,
        linkBroadcast: Bool,
        ctx: inout LayerContext
    ) -> Inbound? {
        ctx.count(.ipPacketsIn)
        let ip: IPv4Header
        switch IPv4Header.parse(bytes) {
        case .success(let h): ip = h
        case .failure(let r):
            ctx.drop(r)
            return nil
        }
        // Ethernet pads short frames: the total length says where the datagram ends.
        let packet = UnsafeRawBufferPointer(rebasing: bytes[0..<ip.totalLength])
        // RFC 1122 §3.2.1.3: a source that is broadcast or multicast is discarded; nor is
        // "this host" (0.0.0.0) or loopback (127/8) as a source on the wire, nor (a spoof) one
        // of our own addresses.
        let srcCheck = Self.isLocalOrBroadcast(ip.source, interfaces: ctx.interfaces)
        if ip.source.isMulticast || srcCheck.broadcast || srcCheck.local || ip.source.isUnspecified
            || ip.source.isLoopback
        {
            ctx.drop(.ipBadSource)
            return nil
        }
        // RFC 1122 §3.2.1.3: accept datagrams to our address or a broadcast; we do not forward
        // (RFC 1122 §3.3.1.6 — a host that is not a gateway silently discards).
        let (local, broadcast) = Self.isLocalOrBroadcast(ip.destination, interfaces: ctx.interfaces)
        guard local else {
            ctx.drop(.ipNotForUs)
            return nil
        }
        if ip.moreFragments || ip.fragmentOffset != 0 {
            ctx.count(.ipFragmentsIn)
            guard let datagram = reassembly.input(ip, packet: packet, ctx: &ctx) else { return nil }
            return .reassembled(datagram, broadcast: broadcast || linkBroadcast)
        }
        return .datagram(ip, packet: packet, broadcast: broadcast || linkBroadcast)
    }

    /// The next IP identification (RFC 791; RFC 6864: unique per source/destination/protocol
    /// within the maximum datagram lifetime — a counter starting at a random value).
    mutating func takeIdentification() -> UInt16 {
        let id = nextIdentification
        nextIdentification &+= 1
        return id
    }

    /// Sends the transport datagram being built in `effects.frames` (it starts at the transport
    /// header) to `destination`: prepends the IP header, fragments above the MTU (RFC 791
    /// §3.2 "Fragmentation"), and hands each frame to the link. Owners of datagrams the link
    /// refuses are added to `ctx.undeliverable`.
    ///
    /// - Returns: `EMSGSIZE` when DF is set and the datagram does not fit the MTU.
    mutating func send(
        route: RouteChoice,
        protocol proto: UInt8,
        destination: IPv4Address,
        dontFragment: Bool,
        ttl: UInt8?,
        owner: PacketOwner,
        ctx: inout LayerContext,
        link: inout LinkLayer,
        effects: inout Effects
    ) -> Result<Void, Errno> {
        let mtu = ctx.interfaces[route.interface].mtu
        let length = effects.frames.length
        let ttl = ttl ?? defaultTTL
        if 20 + length <= mtu {
            guard effects.frames.prepend(20) else {
                effects.frames.abort()
                return .failure(.ENOBUFS)
            }
            let header = IPv4Header(
                totalLength: 20 + length,
                identification: takeIdentification(),
                dontFragment: dontFragment,
                moreFragments: false,
                fragmentOffset: 0,
                ttl: ttl,
                protocol: proto,
                source: route.source,
                destination: destination
            )
            emit(header, route: route, owner: owner, ctx: &ctx, link: &link, effects: &effects)
            return .success(())
        }
        guard !dontFragment else {
            effects.frames.abort()
            ctx.drop(.ipFragmentNeededDF)
            return .failure(.EMSGSIZE)
        }
        // Fragment: every fragment but the last carries a multiple of 8 bytes (RFC 791 §3.1).
        var data: [UInt8] = []
        swap(&data, &scratch)
        data.removeAll(keepingCapacity: true)
        effects.frames.withFrame { data.append(contentsOf: UnsafeRawBufferPointer($0)) }
        effects.frames.abort()
        let chunk = (mtu - 20) & ~7
        let id = takeIdentification()
        var offset = 0
        var count = 0
        while offset < length {
            let n = min(chunk, length - offset)
            effects.frames.begin(headroom: Self.headroom)
            data.withUnsafeBytes { effects.frames.append(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
            _ = effects.frames.prepend(20)
            let header = IPv4Header(
                totalLength: 20 + n,
                identification: id,
                dontFragment: false,
                moreFragments: offset + n < length,
                fragmentOffset: offset,
                ttl: ttl,
                protocol: proto,
                source: route.source,
                destination: destination
            )
            ctx.count(.ipFragmentsOut)
            emit(header, route: route, owner: owner, ctx: &ctx, link: &link, effects: &effects)
            offset += n
            count += 1
        }
        ctx.count(.ipDatagramsFragmented)
        ctx.trace(.ipFragmented(identification: id, length: length + 20, fragments: count, mtu: mtu))
        swap(&data, &scratch)
        return .success(())
    }

    /// Writes `header` into the room prepended for it and hands the datagram to the link.
    private func emit(
        _ header: IPv4Header,
        route: RouteChoice,
        owner: PacketOwner,
        ctx: inout LayerContext,
        link: inout LinkLayer,
        effects: inout Effects
    ) {
        effects.frames.withFrame { header.write(to: $0, at: 0) }
        ctx.count(.ipPacketsOut)
        link.outputIPv4(interface: route.interface, nextHop: route.nextHop, owner: owner, ctx: &ctx, effects: &effects)
    }

    /// Gives up on datagrams whose time ran out; sends Time Exceeded (code 1) when the first
    /// fragment had arrived (RFC 792; RFC 1122 §3.3.2).
    mutating func timers(ctx: inout LayerContext, link: inout LinkLayer, effects: inout Effects) {
        while let (key, dg) = reassembly.popExpired(now: ctx.now) {
            ctx.drop(.ipReassemblyTimeout)
            ctx.trace(.ipReassemblyTimedOut(identification: key.identification, source: key.source))
            guard let first = dg.first else { continue }
            let offending = OffendingDatagram(
                source: key.source,
                destination: key.destination,
                proto: key.proto,
                fragmentOffset: 0,
                headerLength: dg.firstHeaderLength
            )
            first.withUnsafeBytes { quote in
                sendICMPError(
                    type: ICMPv4Type.timeExceeded,
                    code: ICMPv4TimeExceededCode.reassembly,
                    offending: offending,
                    quote: quote,
                    broadcast: false,
                    ctx: &ctx,
                    link: &link,
                    effects: &effects
                )
            }
        }
    }
}
