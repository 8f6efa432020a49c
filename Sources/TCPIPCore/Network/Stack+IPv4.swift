/// A route chosen for an outgoing datagram: the interface, the next hop and the source address.
public struct RouteChoice: Sendable, Equatable {
    /// The outgoing interface index.
    public var interface: Int
    /// The neighbour the frame goes to (the destination itself, or a gateway).
    public var nextHop: IPv4Address
    /// The source address to use (the interface's address, RFC 1122 §3.3.4.3).
    public var source: IPv4Address
}

/// The stack's wiring around the IPv4 layer: datagrams up to the transports, datagrams down
/// from them, ICMP errors to the transport that sent what they quote.
extension Stack {
    /// Link and IP header room a transport layer reserves in front of its header.
    public static let ipHeadroom = IPv4Layer.headroom

    /// The route to `destination`, or nil when there is none (RFC 1122 §3.3.1).
    public func route(to destination: IPv4Address) -> RouteChoice? {
        ipv4.route(to: destination, interfaces: context.interfaces)
    }

    /// The routing table.
    public var routes: RoutingTable { ipv4.routes }

    /// IPv4 input: the network layer validates and reassembles; the stack demultiplexes.
    mutating func ipv4Input(_ bytes: UnsafeRawBufferPointer, linkBroadcast: Bool, effects: inout Effects) {
        switch ipv4.input(bytes, linkBroadcast: linkBroadcast, ctx: &context) {
        case nil: return
        case .datagram(let ip, let packet, let broadcast):
            deliver(ip, packet: packet, broadcast: broadcast, effects: &effects)
        case .reassembled(var datagram, let broadcast):
            datagram.withUnsafeMutableBytes { buf in
                let whole = UnsafeRawBufferPointer(buf)
                if case .success(let h) = IPv4Header.parse(whole) {
                    deliver(h, packet: whole, broadcast: broadcast, effects: &effects)
                }
            }
        }
        reportUndeliverable(effects: &effects)
    }

    /// Hands a whole datagram to its protocol (RFC 791 "protocol" field).
    mutating func deliver(_ ip: IPv4Header, packet: UnsafeRawBufferPointer, broadcast: Bool, effects: inout Effects) {
        context.count(.ipDelivered)
        let payload = UnsafeRawBufferPointer(rebasing: packet[ip.headerLength..<ip.totalLength])
        switch ip.protocol {
        case IPProtocol.icmp:
            let error = ipv4.icmpInput(
                ip,
                packet: packet,
                payload: payload,
                broadcast: broadcast,
                ctx: &context,
                link: &link,
                effects: &effects
            )
            if let error { transportError(error, effects: &effects) }
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

    /// An ICMP error quoting a datagram UDP or TCP sent goes to that transport
    /// (RFC 1122 §3.2.2.1, §4.1.3.3 for UDP).
    mutating func transportError(_ e: TransportError, effects: inout Effects) {
        switch e.proto {
        case IPProtocol.udp:
            udpICMPError(
                localAddress: e.localAddress,
                localPort: e.localPort,
                remoteAddress: e.remoteAddress,
                remotePort: e.remotePort,
                error: e.error,
                hard: e.type == ICMPv4Type.destinationUnreachable,
                effects: &effects
            )
        default:
            tcpICMPError(
                localAddress: e.localAddress,
                localPort: e.localPort,
                remoteAddress: e.remoteAddress,
                remotePort: e.remotePort,
                sequence: e.sequence,
                type: e.type,
                code: e.code,
                nextHopMTU: e.nextHopMTU,
                effects: &effects
            )
        }
    }

    /// Sends the transport datagram being built in `effects.frames` (RFC 791; see
    /// `IPv4Layer.send`). A datagram the link refuses is reported to its owner once the
    /// sender's state is back in place (`reportUndeliverable`: after `tcpStore`, at the end of
    /// `udpOutput`, `receive` and `advance`), so a connection is never told while taken out
    /// of its slot.
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
        let r = ipv4.send(
            route: route,
            protocol: proto,
            destination: destination,
            dontFragment: dontFragment,
            ttl: ttl,
            owner: owner,
            ctx: &context,
            link: &link,
            effects: &effects
        )
        return r
    }

    /// Sends an ICMP error about a received datagram, within RFC 1122 §3.2.2's rules (see
    /// `IPv4Layer.sendICMPError`).
    mutating func sendICMPError(
        type: UInt8,
        code: UInt8,
        offending: OffendingDatagram,
        quote: UnsafeRawBufferPointer,
        broadcast: Bool,
        effects: inout Effects
    ) {
        ipv4.sendICMPError(
            type: type,
            code: code,
            offending: offending,
            quote: quote,
            broadcast: broadcast,
            ctx: &context,
            link: &link,
            effects: &effects
        )
        reportUndeliverable(effects: &effects)
    }

    /// Sends an ICMP echo request (ping) to `destination`. Its reply arrives as
    /// `SocketEvent.echoReply`; a failure to resolve the next hop as `SocketEvent.echoFailed`.
    public mutating func sendEchoRequest(
        to destination: IPv4Address,
        identifier: UInt16,
        sequence: UInt16,
        payload: UnsafeRawBufferPointer,
        ttl: UInt8? = nil,
        into effects: inout Effects
    ) -> Result<Void, Errno> {
        let r = ipv4.sendEchoRequest(
            to: destination,
            identifier: identifier,
            sequence: sequence,
            payload: payload,
            ttl: ttl,
            ctx: &context,
            link: &link,
            effects: &effects
        )
        reportUndeliverable(effects: &effects)
        return r
    }

    /// Tells the owners of datagrams the lower layers could not deliver.
    @inline(__always) mutating func reportUndeliverable(effects: inout Effects) {
        if !context.undeliverable.isEmpty { tellUndeliverableOwners(effects: &effects) }
    }

    mutating func tellUndeliverableOwners(effects: inout Effects) {
        var owners: [PacketOwner] = []
        swap(&owners, &context.undeliverable)
        for owner in owners { notifyUnreachable(owner, effects: &effects) }
        owners.removeAll(keepingCapacity: true)
        if context.undeliverable.isEmpty { swap(&owners, &context.undeliverable) }
    }
}
