extension Stack {
    /// The largest UDP payload: 65535 − 20 (IP) − 8 (UDP).
    public static let maxUDPPayload = 65507
    /// Bytes of receive buffer per queued datagram allowed (the bound on empty datagrams).
    static let udpDatagramOverhead = 64

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
        switch UDPHeader.parse(payload, source: ip.source, destination: ip.destination) {
        case .success(let h): udpHeader = h
        case .failure(let r): return drop(r)
        }
        guard
            let fd = udpLookup(
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
        // The receive queue is bounded by SO_RCVBUF in payload bytes, and in datagrams by one
        // per 64 bytes of it, so that a flood of empty datagrams is bounded too.
        let charge = data.count
        let source = ip.source
        let port = udpHeader.sourcePort
        let queued =
            sockets.modify(fd) { socket -> Bool in
                guard !socket.udp.readShut, socket.udp.queuedBytes + charge <= socket.options.receiveBuffer,
                    socket.udp.queue.count < max(16, socket.options.receiveBuffer / Self.udpDatagramOverhead)
                else {
                    return false
                }
                socket.udp.queue.append(ReceivedDatagram(address: source, port: port, bytes: Array(data)))
                socket.udp.queuedBytes += charge
                return true
            } ?? false
        guard queued else { return drop(.udpReceiveQueueFull) }
        context.count(.udpDelivered)
        socketChanged(fd, effects: &effects)
    }

    /// The socket that takes a datagram: a connected socket matching the peer beats one bound
    /// to the specific address, which beats one bound to the wildcard.
    func udpLookup(
        localAddress: IPv4Address,
        localPort: UInt16,
        remoteAddress: IPv4Address,
        remotePort: UInt16,
        broadcast: Bool
    ) -> Int32? {
        guard let fds = udp.ports[localPort] else { return nil }
        var best: Int32?
        var bestScore = -1
        for fd in fds {
            guard let s = sockets[fd] else { continue }
            var score = 0
            if s.udp.localAddress != .any {
                guard s.udp.localAddress == localAddress || broadcast else { continue }
                score += 1
            }
            if let ra = s.udp.remoteAddress {
                guard ra == remoteAddress && s.udp.remotePort == remotePort else { continue }
                score += 2
            }
            if score > bestScore {
                best = fd
                bestScore = score
            }
        }
        return best
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
        var socket = sockets[fd]!
        if socket.udp.localPort == 0 {
            guard let p = ephemeralUDPPort() else { return .failure(.EAGAIN.with("no free ephemeral port")) }
            socket.udp.localPort = p
            sockets[fd] = socket
            udp.add(fd, port: p)
            trace(.socketBound(fd: fd, address: socket.udp.localAddress, port: p))
        }
        if socket.udp.localAddress != .any { route.source = socket.udp.localAddress }
        effects.frames.begin(headroom: Self.ipHeadroom)
        effects.frames.appendZeros(UDPHeader.size)
        effects.frames.append(data)
        let total = effects.frames.length
        let header = UDPHeader(
            sourcePort: socket.udp.localPort,
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
            owner: sockets.id(of: fd).map { .socket($0) } ?? .none,
            effects: &effects
        )
        reportUndeliverable(effects: &effects)
        return sent.map { data.count }
    }

    /// A free ephemeral port chosen at random (RFC 6056 §3.3.1, Algorithm 1: random start,
    /// then a linear search).
    mutating func ephemeralUDPPort() -> UInt16? {
        let start = random.next()
        return ephemeralPort(start: start) { udp.ports[$0] == nil }
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
        guard let fds = udp.ports[localPort] else { return drop(.icmpErrorUnmatched) }
        for fd in fds {
            guard var s = sockets[fd], s.udp.remoteAddress == remoteAddress, s.udp.remotePort == remotePort,
                s.udp.localAddress == .any || s.udp.localAddress == localAddress
            else { continue }
            guard hard else { return }
            s.pendingError = error
            sockets[fd] = s
            context.count(.icmpErrorsToSockets)
            trace(.icmpErrorDelivered(fd: fd, error: error.name))
            socketChanged(fd, effects: &effects)
            return
        }
        drop(.icmpErrorUnmatched)
    }

    /// The next hop of a datagram this socket sent did not answer ARP. As Linux without
    /// `IP_RECVERR` (its ip_link_failure reports Host Unreachable, which udp_err passes only to
    /// a connected socket; RFC 1122 §4.1.3.3 leaves the rest to the application), a connected
    /// socket's next call fails with EHOSTUNREACH and an unconnected one hears nothing.
    mutating func udpNextHopUnreachable(_ id: SocketID, effects: inout Effects) {
        guard let s = sockets[id.descriptor], s.udp.isConnected else { return }
        socketError(fd: id.descriptor, .EHOSTUNREACH.with("no ARP reply from the next hop"), effects: &effects)
    }
}
