extension Stack {
    /// The largest UDP payload: 65535 − 20 (IP) − 8 (UDP).
    public static let maxUDPPayload = 65507

    /// UDP input (RFC 768, RFC 1122 §4.1.3): verify, find the socket, queue the datagram.
    mutating func udpInput(
        _ ip: IPv4Header,
        packet: UnsafeRawBufferPointer,
        payload: UnsafeRawBufferPointer,
        broadcast: Bool,
        effects: inout Effects
    ) {
        context.count(.udpDatagramsIn)
        let udpHeader: UDPHeader
        let verify = !context.trustedChecksum.covers(payload)
        switch UDPHeader.parse(payload, source: ip.source, destination: ip.destination, verifyChecksum: verify) {
        case .success(let h): udpHeader = h
        case .failure(let r): return drop(r)
        }
        guard
            let fd = udp.lookup(
                localAddress: ip.destination,
                localPort: udpHeader.destinationPort,
                remoteAddress: ip.source,
                remotePort: udpHeader.sourcePort,
                broadcast: broadcast
            )
        else {
            if broadcast { return drop(.udpBroadcastNoPort) }
            drop(.udpNoPort)
            // RFC 1122 §4.1.3.1: a datagram to a port with no listener SHOULD get Port Unreachable.
            sendICMPError(
                type: ICMPv4Type.destinationUnreachable,
                code: ICMPv4UnreachableCode.port,
                offending: OffendingDatagram(ip),
                quote: packet,
                broadcast: broadcast,
                effects: &effects
            )
            return
        }
        let data = UnsafeRawBufferPointer(rebasing: payload[UDPHeader.size..<udpHeader.length])
        let queued = udp.enqueue(
            fd,
            ReceivedDatagram(address: ip.source, port: udpHeader.sourcePort, bytes: Array(data))
        )
        guard queued else { return drop(.udpReceiveQueueFull) }
        context.count(.udpDelivered)
        socketChanged(fd, effects: &effects)
    }

    /// Builds and sends one datagram for socket `fd`.
    mutating func udpOutput(
        fd: Int32,
        data: UnsafeRawBufferPointer,
        destination: IPv4Address,
        port: UInt16,
        effects: inout Effects
    ) -> Result<Int, Errno> {
        guard data.count <= Self.maxUDPPayload else { return .failure(.EMSGSIZE) }
        guard port != 0 else { return .failure(.EINVAL.with("destination port 0")) }
        guard var route = route(to: destination) else {
            drop(.ipNoRoute)
            return .failure(.ENETUNREACH)
        }
        guard var endpoint = udp[fd] else { return .failure(.EBADF) }
        if endpoint.localPort == 0 {
            guard let p = ephemeralUDPPort() else { return .failure(.EAGAIN.with("no free ephemeral port")) }
            udp.bind(fd, address: endpoint.localAddress, port: p)
            endpoint.localPort = p
            trace(.socketBound(fd: fd, address: endpoint.localAddress, port: p))
        }
        if endpoint.localAddress != .any { route.source = endpoint.localAddress }
        effects.frames.begin(headroom: Self.ipHeadroom)
        effects.frames.appendZeros(UDPHeader.size)
        effects.frames.append(data)
        let total = effects.frames.length
        let header = UDPHeader(
            sourcePort: endpoint.localPort,
            destinationPort: port,
            length: total
        )
        let source = route.source
        effects.frames.withFrame { buf in
            header.write(to: buf, at: 0, source: source, destination: destination)
        }
        context.count(.udpDatagramsOut)
        // UDP datagrams are fragmented as needed (DF clear).
        let sent = ipSend(
            route: route,
            protocol: IPProtocol.udp,
            destination: destination,
            owner: sockets.id(of: fd).map {
                .socket(
                    $0,
                    flow: PacketFlow(localPort: endpoint.localPort, remoteAddress: destination, remotePort: port)
                )
            } ?? .none,
            effects: &effects
        )
        reportUndeliverable(effects: &effects)
        return sent.map { data.count }
    }

    /// A free ephemeral port chosen at random (RFC 6056 §3.3.1, Algorithm 1: random start,
    /// then a linear search).
    mutating func ephemeralUDPPort() -> UInt16? {
        let start = random.next()
        return ephemeralPort(start: start) { udp.isFree($0) }
    }

    /// An ICMP error about a datagram we sent: reported to a connected socket only, as Linux
    /// does without `IP_RECVERR` (RFC 1122 §4.1.3.3 says the error MUST be passed up).
    mutating func udpICMPError(
        localAddress: IPv4Address,
        localPort: UInt16,
        remoteAddress: IPv4Address,
        remotePort: UInt16,
        error: Errno,
        hard: Bool,
        effects: inout Effects
    ) {
        guard
            let fd = udp.connectedEndpoint(
                localAddress: localAddress,
                localPort: localPort,
                remoteAddress: remoteAddress,
                remotePort: remotePort
            )
        else { return drop(.icmpErrorUnmatched) }
        guard hard, var s = sockets[fd] else { return }
        s.pendingError = error
        sockets[fd] = s
        context.count(.icmpErrorsToSockets)
        trace(.icmpErrorDelivered(fd: fd, error: error.name))
        socketChanged(fd, effects: &effects)
    }

    /// The next hop of a datagram this socket sent did not answer ARP. As Linux without
    /// `IP_RECVERR` (its ip_link_failure reports Host Unreachable, which udp_err passes only to
    /// a connected socket; RFC 1122 §4.1.3.3 leaves the rest to the application), a connected
    /// socket's next call fails with EHOSTUNREACH and an unconnected one hears nothing.
    mutating func udpNextHopUnreachable(_ id: SocketID, flow: PacketFlow, effects: inout Effects) {
        guard let e = udp[id.descriptor], e.remoteAddress == flow.remoteAddress, e.remotePort == flow.remotePort,
            e.localPort == flow.localPort
        else { return }
        socketError(fd: id.descriptor, .EHOSTUNREACH.with("no ARP reply from the next hop"), effects: &effects)
    }
}
