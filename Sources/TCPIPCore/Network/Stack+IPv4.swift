/// A route chosen for an outgoing datagram: the interface, the next hop and the source address.
public struct RouteChoice: Sendable, Equatable {
    /// The outgoing interface index.
    public var interface: Int
    /// The neighbour the frame goes to (the destination itself, or a gateway).
    public var nextHop: IPv4Address
    /// The source address to use (the interface's address, RFC 1122 §3.3.4.3).
    public var source: IPv4Address
}

extension Stack {
    /// Link and IP header room a transport layer reserves in front of its header.
    public static let ipHeadroom = EthernetHeader.size + 20

    /// The route to `destination`, or nil when there is none (RFC 1122 §3.3.1).
    public func route(to destination: IPv4Address) -> RouteChoice? {
        if destination == .broadcast, !interfaces.isEmpty {
            return RouteChoice(interface: 0, nextHop: destination, source: interfaces[0].address)
        }
        guard let r = routes.lookup(destination) else { return nil }
        return RouteChoice(interface: r.interface, nextHop: r.nextHop, source: interfaces[r.interface].address)
    }

    /// IPv4 input (RFC 791 §3.2, RFC 1122 §3.2.1): validate, filter, reassemble, demultiplex.
    mutating func ipv4Input(
        _ bytes: UnsafeRawBufferPointer,
        interface: Int,
        linkBroadcast: Bool,
        effects: inout Effects
    ) {
        context.count(.ipPacketsIn)
        let ip: IPv4Header
        switch IPv4Header.parse(bytes) {
        case .success(let h): ip = h
        case .failure(let r): return drop(r)
        }
        // Ethernet pads short frames: the total length says where the datagram ends.
        let packet = UnsafeRawBufferPointer(rebasing: bytes[0..<ip.totalLength])
        // RFC 1122 §3.2.1.3: a source that is broadcast or multicast is discarded.
        // RFC 1122 §3.2.1.3: nor is "this host" (0.0.0.0) or loopback (127/8) as a source on
        // the wire, nor (a spoof) one of our own addresses.
        let srcCheck = isLocalOrBroadcast(ip.source, interface: interface)
        if ip.source.isMulticast || srcCheck.broadcast || srcCheck.local || ip.source.isUnspecified
            || ip.source.isLoopback
        {
            return drop(.ipBadSource)
        }
        // RFC 1122 §3.2.1.3: accept datagrams to our address or a broadcast; we do not forward
        // (RFC 1122 §3.3.1.6 — a host that is not a gateway silently discards).
        let (local, broadcast) = isLocalOrBroadcast(ip.destination, interface: interface)
        guard local else { return drop(.ipNotForUs) }
        if ip.moreFragments || ip.fragmentOffset != 0 {
            context.count(.ipFragmentsIn)
            guard var datagram = reassemblyInput(ip, packet: packet, effects: &effects) else { return }
            datagram.withUnsafeMutableBytes { buf in
                let whole = UnsafeRawBufferPointer(buf)
                if case .success(let h) = IPv4Header.parse(whole) {
                    deliver(h, packet: whole, broadcast: broadcast || linkBroadcast, effects: &effects)
                }
            }
            return
        }
        deliver(ip, packet: packet, broadcast: broadcast || linkBroadcast, effects: &effects)
    }

    /// Hands a whole datagram to its protocol (RFC 791 "protocol" field).
    mutating func deliver(_ ip: IPv4Header, packet: UnsafeRawBufferPointer, broadcast: Bool, effects: inout Effects) {
        context.count(.ipDelivered)
        let payload = UnsafeRawBufferPointer(rebasing: packet[ip.headerLength..<ip.totalLength])
        switch ip.protocol {
        case IPProtocol.icmp: icmpInput(ip, packet: packet, payload: payload, broadcast: broadcast, effects: &effects)
        case IPProtocol.udp: udpInput(ip, packet: packet, payload: payload, broadcast: broadcast, effects: &effects)
        case IPProtocol.tcp: tcpInput(ip, packet: packet, payload: payload, broadcast: broadcast, effects: &effects)
        default:
            drop(.ipUnknownProtocol)
            // RFC 1122 §3.2.2.1: a host SHOULD generate Protocol Unreachable.
            sendICMPError(
                type: ICMPv4Type.destinationUnreachable,
                code: ICMPv4UnreachableCode.protocol,
                offending: OffendingDatagram(ip),
                quote: packet,
                broadcast: broadcast,
                effects: &effects
            )
        }
    }

    /// Sends the transport datagram being built in `effects.frames` (it starts at the transport
    /// header) to `destination`: prepends the IP header, fragments above the MTU (RFC 791
    /// §3.2 "Fragmentation"), and hands each frame to the link.
    ///
    /// - Returns: `EMSGSIZE` when DF is set and the datagram does not fit the MTU.
    @discardableResult
    mutating func ipSend(
        route: RouteChoice,
        protocol proto: UInt8,
        destination: IPv4Address,
        dontFragment: Bool = false,
        ttl: UInt8? = nil,
        owner: PacketOwner = .none,
        effects: inout Effects
    ) -> Result<Void, Errno> {
        let mtu = interfaces[route.interface].mtu
        let length = effects.frames.length
        let ttl = ttl ?? configuration.defaultTTL
        if 20 + length <= mtu {
            guard effects.frames.prepend(20) else {
                effects.frames.abort()
                return .failure(.ENOBUFS)
            }
            let header = IPv4Header(
                totalLength: 20 + length,
                identification: takeIPIdentification(),
                dontFragment: dontFragment,
                moreFragments: false,
                fragmentOffset: 0,
                ttl: ttl,
                protocol: proto,
                source: route.source,
                destination: destination
            )
            effects.frames.withFrame { header.write(to: $0, at: 0) }
            context.count(.ipPacketsOut)
            linkOutput(route: route, owner: owner, effects: &effects)
            return .success(())
        }
        guard !dontFragment else {
            effects.frames.abort()
            drop(.ipFragmentNeededDF)
            return .failure(.EMSGSIZE)
        }
        // Fragment: every fragment but the last carries a multiple of 8 bytes (RFC 791 §3.1).
        var data: [UInt8] = []
        swap(&data, &scratch)
        data.removeAll(keepingCapacity: true)
        effects.frames.withFrame { data.append(contentsOf: UnsafeRawBufferPointer($0)) }
        effects.frames.abort()
        let chunk = (mtu - 20) & ~7
        let id = takeIPIdentification()
        var offset = 0
        var count = 0
        while offset < length {
            let n = min(chunk, length - offset)
            effects.frames.begin(headroom: Self.ipHeadroom)
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
            effects.frames.withFrame { header.write(to: $0, at: 0) }
            context.count(.ipPacketsOut)
            context.count(.ipFragmentsOut)
            linkOutput(route: route, owner: owner, effects: &effects)
            offset += n
            count += 1
        }
        context.count(.ipDatagramsFragmented)
        trace(.ipFragmented(identification: id, length: length + 20, fragments: count, mtu: mtu))
        swap(&data, &scratch)
        return .success(())
    }

    /// Hands the datagram being built to the link layer for the route's next hop; a datagram
    /// the link refuses is reported to its owner.
    mutating func linkOutput(route: RouteChoice, owner: PacketOwner, effects: inout Effects) {
        if let failed = link.outputIPv4(
            interface: route.interface,
            nextHop: route.nextHop,
            owner: owner,
            ctx: &context,
            effects: &effects
        ) {
            notifyUnreachable(failed, effects: &effects)
        }
    }
}
