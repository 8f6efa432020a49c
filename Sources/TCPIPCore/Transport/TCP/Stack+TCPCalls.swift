extension Stack {
    /// The RFC 7323 §2.3 receive shift for a buffer: the smallest that fits it in 16 bits.
    func tcpWindowShift(for buffer: Int) -> Int {
        var s = 0
        while s < 14 && (buffer >> s) > 65535 { s += 1 }
        return s
    }

    /// A new control block with the socket's options.
    mutating func tcpNewConnection(
        tuple: TCPFourTuple,
        route: RouteChoice,
        iss: SequenceNumber,
        passive: Bool,
        options o: SocketOptions,
        effects: inout Effects
    ) -> TCPConnection {
        let t = configuration.tcp
        let mtu = interfaces[route.interface].mtu
        var c = TCPConnection(
            tuple: tuple,
            route: route,
            iss: iss,
            passive: passive,
            sendBuffer: o.sendBuffer,
            receiveBuffer: o.receiveBuffer,
            maxRanges: t.outOfOrderRanges,
            advertisedMSS: min(mtu - 40, o.maxSegment ?? 65535),
            rtt: RTTEstimator(initialRTO: t.initialRTO, minRTO: t.minRTO, maxRTO: t.maxRTO),
            initialWindowSegments: t.initialWindowSegments
        )
        if t.windowScaling {
            c.windowScaling = true
            c.rcvWindowShift = tcpWindowShift(for: o.receiveBuffer)
        }
        c.timestamps = t.timestamps
        c.sack = t.sack
        c.tsOffset = UInt32(truncatingIfNeeded: random.next())
        c.noDelay = o.noDelay
        c.keepAlive = o.keepAlive
        c.keepIdle = Int64(o.keepIdle) * 1_000_000_000
        c.keepInterval = Int64(o.keepInterval) * 1_000_000_000
        c.keepCount = o.keepCount
        c.userTimeout = Int64(o.userTimeout) * 1_000_000
        c.userMSS = o.maxSegment
        c.lastSegmentAt = now
        return c
    }

    /// Picks an ephemeral port for a connection to `remote` (RFC 6056 §3.3.1, Algorithm 1:
    /// random start, linear search, skipping ports bound here or whose 4-tuple is in use).
    mutating func tcpEphemeralPort(local: IPv4Address, remote: IPv4Address, remotePort: UInt16) -> UInt16? {
        let start = random.next()
        return ephemeralPort(start: start) { p in
            let tuple = TCPFourTuple(localAddress: local, localPort: p, remoteAddress: remote, remotePort: remotePort)
            return tcp.bound[p] == nil && tcp.byTuple[tuple] == nil
        }
    }

    /// `bind(2)` for a stream socket.
    mutating func tcpBind(_ fd: Int32, address: IPv4Address, port: UInt16) -> Result<Void, Errno> {
        guard let ep = tcp.endpoints[fd] else { return .failure(.EBADF) }
        guard ep.localPort == 0 else { return .failure(.EINVAL.with("socket is already bound")) }
        var chosen = port
        if port == 0 {
            let start = random.next()
            guard let f = ephemeralPort(start: start, where: { tcp.bound[$0] == nil }) else {
                return .failure(.EADDRINUSE.with("no free ephemeral port"))
            }
            chosen = f
        } else if let fds = tcp.bound[port] {
            for other in fds {
                guard let o = tcp.endpoints[other] else { continue }
                let overlap = o.localAddress == .any || address == .any || o.localAddress == address
                // SO_REUSEADDR lets two sockets share a port unless one is listening (Linux).
                if overlap && !(o.reuseAddress && ep.reuseAddress && o.listen == nil) {
                    return .failure(.EADDRINUSE.with("port \(port) is already in use"))
                }
            }
        }
        tcp.endpoints[fd]!.localAddress = address
        tcp.endpoints[fd]!.localPort = chosen
        tcp.addBinding(fd, port: chosen)
        trace(.socketBound(fd: fd, address: address, port: chosen))
        return .success(())
    }

    /// `listen(2)`: a passive OPEN (RFC 9293 §3.10.1).
    public mutating func listen(_ fd: Int32, backlog: Int = 128) -> Result<Void, Errno> {
        guard let s = sockets[fd] else { return .failure(.EBADF) }
        guard s.type == .stream, var ep = tcp.endpoints[fd] else {
            return .failure(.EOPNOTSUPP.with("listen needs a stream socket"))
        }
        guard ep.connection == nil else { return .failure(.EINVAL.with("socket is connected")) }
        if ep.localPort == 0 {
            if case .failure(let e) = tcpBind(fd, address: .any, port: 0) { return .failure(e) }
            ep = tcp.endpoints[fd]!
        } else if let fds = tcp.bound[ep.localPort] {
            for other in fds where other != fd {
                if let o = tcp.endpoints[other], o.listen != nil,
                    o.localAddress == .any || ep.localAddress == .any || o.localAddress == ep.localAddress
                {
                    return .failure(.EADDRINUSE.with("port \(ep.localPort) already has a listener"))
                }
            }
        }
        // Linux: the backlog is capped at somaxconn (4096); a negative one means the cap.
        let b = backlog < 0 ? 4096 : min(backlog, 4096)
        if ep.listen == nil {
            ep.listen = TCPListenState(backlog: b)
        } else {
            ep.listen!.backlog = b
        }
        tcp.endpoints[fd] = ep
        trace(.tcpListening(fd: fd, port: ep.localPort))
        return .success(())
    }

    /// `accept(2)`: the next completed connection, as a new descriptor; `EAGAIN` when none.
    public mutating func accept(
        _ fd: Int32,
        into effects: inout Effects
    ) -> Result<(fd: Int32, address: IPv4Address, port: UInt16), Errno> {
        guard let l = sockets[fd] else { return .failure(.EBADF) }
        guard tcp.endpoints[fd]?.listen != nil else { return .failure(.EINVAL.with("socket is not listening")) }
        guard let slot = tcp.endpoints[fd]!.listen!.acceptQueue.popFirst() else { return .failure(.EAGAIN) }
        guard var c = tcp.slots[slot] else { return .failure(.ECONNABORTED) }
        guard let newFD = sockets.insert(Socket(type: .stream, options: l.options)) else {
            tcp.endpoints[fd]!.listen!.acceptQueue.prepend(slot)
            return .failure(.EMFILE)
        }
        var ep = TCPSocketState()
        ep.localAddress = c.tuple.localAddress
        ep.localPort = c.tuple.localPort
        ep.connection = slot
        ep.reuseAddress = tcp.endpoints[fd]!.reuseAddress
        tcp.endpoints[newFD] = ep
        c.owner = sockets.id(of: newFD)
        c.listener = nil
        tcp.slots[slot] = c
        trace(.socketCreated(fd: newFD, type: .stream))
        trace(.tcpAccepted(fd: newFD, remote: c.tuple.remoteAddress, port: c.tuple.remotePort))
        return .success((newFD, c.tuple.remoteAddress, c.tuple.remotePort))
    }

    /// `connect(2)` on a stream socket: an active OPEN (RFC 9293 §3.10.1) — the SYN is sent
    /// and the call returns; `readiness` and `tcpInfo` tell the outcome. A repeated call gives
    /// `EALREADY` while the handshake runs, `EISCONN` once connected, or the failure.
    mutating func tcpConnect(
        _ fd: Int32,
        address: IPv4Address,
        port: UInt16,
        effects: inout Effects
    ) -> Result<Void, Errno> {
        guard var s = sockets[fd], var ep = tcp.endpoints[fd] else { return .failure(.EBADF) }
        if let slot = ep.connection, let c = tcp.slots[slot] {
            switch c.state {
            case .synSent, .synReceived: return .failure(.EALREADY)
            case .closed:
                if let e = s.pendingError ?? c.pendingError {
                    s.pendingError = nil
                    sockets[fd] = s
                    return .failure(e)
                }
                return .failure(.EISCONN)
            default: return .failure(.EISCONN)
            }
        }
        guard ep.listen == nil else { return .failure(.EISCONN.with("socket is listening")) }
        guard port != 0, !address.isUnspecified, !address.isMulticast, address != .broadcast else {
            return .failure(.EINVAL.with("cannot connect to \(address):\(port)"))
        }
        guard var route = route(to: address) else {
            drop(.ipNoRoute)
            return .failure(.ENETUNREACH)
        }
        if ep.localAddress != .any { route.source = ep.localAddress }
        if ep.localPort == 0 {
            guard let p = tcpEphemeralPort(local: route.source, remote: address, remotePort: port) else {
                return .failure(.EADDRNOTAVAIL.with("no free ephemeral port"))
            }
            ep.localPort = p
            tcp.addBinding(fd, port: p)
        }
        ep.localAddress = route.source
        let tuple = TCPFourTuple(
            localAddress: route.source,
            localPort: ep.localPort,
            remoteAddress: address,
            remotePort: port
        )
        guard tcp.byTuple[tuple] == nil else { return .failure(.EADDRINUSE.with("that connection already exists")) }
        if let reason = tcpAdmission(s.options) {
            drop(reason)
            let what = reason == .tcpConnectionLimit ? "connection" : "connection memory"
            return .failure(.ENOBUFS.with("the stack's \(what) limit is reached"))
        }
        let iss =
            tcp.issOverride
            ?? tcp.isn.generate(
                localAddress: tuple.localAddress,
                localPort: tuple.localPort,
                remoteAddress: address,
                remotePort: port,
                now: now
            )
        var c = tcpNewConnection(
            tuple: tuple,
            route: route,
            iss: iss,
            passive: false,
            options: s.options,
            effects: &effects
        )
        c.owner = sockets.id(of: fd)
        c.state = .synSent
        let slot = tcp.insert(c)
        ep.connection = slot
        tcp.endpoints[fd] = ep
        s.pendingError = nil
        sockets[fd] = s
        trace(.tcpStateChanged(local: tuple.localPort, remote: address, port: port, from: .closed, to: .synSent))
        var parked = tcp.slots[slot].take()!
        tcpSendSYN(&parked, effects: &effects)
        tcpStore(consume parked, slot: slot, effects: &effects)
        return .success(())
    }

    /// Runs `body` on the connection of stream socket `fd`, then stores it back.
    mutating func withConnection<R>(
        _ fd: Int32,
        effects: inout Effects,
        _ body: (inout Stack, inout TCPConnection, inout Effects) -> Result<R, Errno>
    ) -> Result<R, Errno> {
        guard sockets.contains(fd) else { return .failure(.EBADF) }
        guard let slot = tcp.endpoints[fd]?.connection, var c = tcp.slots[slot].take() else {
            return .failure(tcp.endpoints[fd]?.listen != nil ? .EINVAL : .ENOTCONN)
        }
        let r = body(&self, &c, &effects)
        tcpStore(consume c, slot: slot, effects: &effects)
        return r
    }

    /// SEND (RFC 9293 §3.10.2): copies what fits into the send buffer and sends what the
    /// windows and Nagle allow. `EAGAIN` when nothing fits.
    mutating func tcpSend(_ fd: Int32, _ data: UnsafeRawBufferPointer, effects: inout Effects) -> Result<Int, Errno> {
        if var s = sockets[fd], let e = s.pendingError {
            s.pendingError = nil
            sockets[fd] = s
            return .failure(e)
        }
        // Linux answers EPIPE for a send on a stream socket that is not connected (or listens).
        if sockets.contains(fd), tcp.endpoints[fd]?.connection == nil {
            return .failure(.EPIPE.with("socket is not connected"))
        }
        return withConnection(fd, effects: &effects) { stack, c, effects in
            if let e = c.pendingError {
                c.pendingError = nil
                // The error is reported once, to whichever call comes first (Linux's sk_err):
                // a later read sees the end of the stream.
                if c.resetError != nil { c.resetReported = true }
                return .failure(e)
            }
            switch c.state {
            case .synSent, .synReceived: return .failure(.EAGAIN)
            case .established, .closeWait:
                guard !c.finQueued else { return .failure(.EPIPE) }
            default: return .failure(c.resetError == nil ? .EPIPE : .EPIPE)
            }
            guard data.count > 0 else { return .success(0) }
            let n = c.sendBuffer.append(data)
            guard n > 0 else { return .failure(.EAGAIN) }
            stack.tcpOutput(&c, effects: &effects)
            return .success(n)
        }
    }

    /// CLOSE of the sending side (RFC 9293 §3.10.4): queue a FIN after the data.
    mutating func tcpShutdownWrite(_ c: inout TCPConnection, effects: inout Effects) {
        switch c.state {
        case .synSent:
            tcpSetState(&c, .closed, effects: &effects)
        case .synReceived, .established:
            c.finQueued = true
            tcpSetState(&c, .finWait1, effects: &effects)
            tcpOutput(&c, effects: &effects)
        case .closeWait:
            c.finQueued = true
            tcpSetState(&c, .lastAck, effects: &effects)
            tcpOutput(&c, effects: &effects)
        default:
            break
        }
    }

    /// `close(2)` on a stream socket. With unread data, or SO_LINGER 0, the connection is
    /// aborted with a RST (RFC 9293 §3.10.4 / RFC 1122 §4.2.2.13, RFC 2525 §2.17); otherwise
    /// the FIN exchange goes on without the descriptor. A listener resets the connections it
    /// has not handed out.
    mutating func tcpClose(_ fd: Int32, _ s: Socket, effects: inout Effects) {
        guard let ep = tcp.endpoints.removeValue(forKey: fd) else { return }
        if ep.listen != nil {
            for slot in tcp.slots.indices {
                guard let c0 = tcp.slots[slot], c0.listener == fd else { continue }
                var c = tcp.slots[slot].take()!
                c.listener = nil
                if c.state != .closed { tcpAbort(&c, error: nil, sendReset: true, effects: &effects) }
                tcpStore(consume c, slot: slot, effects: &effects)
            }
        }
        if ep.localPort != 0 { tcp.removeBinding(fd, port: ep.localPort) }
        guard let slot = ep.connection, var c = tcp.slots[slot].take() else { return }
        c.owner = nil
        c.readShut = true
        if c.state != .closed {
            if c.receiveBuffer.readable > 0 || s.options.linger == 0 {
                tcpAbort(&c, error: nil, sendReset: true, effects: &effects)
            } else {
                tcpShutdownWrite(&c, effects: &effects)
                if c.state == .finWait2 { c.finWait2At = now.adding(nanoseconds: configuration.tcp.finWait2Timeout) }
            }
        }
        tcpStore(consume c, slot: slot, effects: &effects)
    }

    /// The control block of stream socket `fd` (RFC 9293 §3.3.1), for `info`.
    public func tcpInfo(_ fd: Int32) -> Result<TCPInfo?, Errno> {
        guard let s = sockets[fd] else { return .failure(.EBADF) }
        guard s.type == .stream, let ep = tcp.endpoints[fd] else { return .success(nil) }
        if let ls = ep.listen { return .success(.unconnected(.listen, acceptQueue: ls.acceptQueue.count)) }
        guard let slot = ep.connection, let c = tcp.slots[slot] else { return .success(.unconnected(.closed)) }
        return .success(tcpInfo(of: c))
    }

    func tcpInfo(of c: TCPConnection) -> TCPInfo {
        TCPInfo(
            state: c.state,
            sndUna: c.sndUna.rawValue,
            sndNxt: c.sndNxt.rawValue,
            sndWnd: c.sndWnd,
            rcvNxt: c.rcvNxt.rawValue,
            rcvWnd: max(0, c.rcvAdvertised - c.rcvNxt),
            iss: c.iss.rawValue,
            irs: c.irs.rawValue,
            mss: c.mss,
            srttMicroseconds: c.rtt.srtt.map { $0 / 1000 },
            rttvarMicroseconds: c.rtt.rttvar / 1000,
            rtoMicroseconds: c.rtt.rto / 1000,
            cwnd: c.cc.cwnd,
            ssthresh: c.cc.ssthresh == Int.max ? nil : c.cc.ssthresh,
            retransmitsTotal: c.retransmitsTotal,
            backoff: c.rtt.backoffs,
            windowScale: c.windowScaling ? (c.sndWindowShift, c.rcvWindowShift) : nil,
            sack: c.sack,
            timestamps: c.timestamps,
            acceptQueue: nil,
            sendQueue: c.sendBuffer.count,
            receiveQueue: c.receiveBuffer.readable,
            finAcknowledged: c.finAcked
        )
    }

    /// Stream readiness for `poll`.
    func tcpReadiness(_ fd: Int32, _ s: Socket) -> Readiness {
        let ep = tcp.endpoints[fd]
        if let ls = ep?.listen { return ls.acceptQueue.isEmpty ? [] : .readable }
        var r: Readiness = []
        if s.pendingError != nil { r.insert(.error) }
        guard let slot = ep?.connection, let c = tcp.slots[slot] else { return r.union(.writable).union(.hangUp) }
        if c.pendingError != nil { r.insert(.error) }
        if c.receiveBuffer.readable > 0 || c.finReceived || c.state == .closed || c.readShut { r.insert(.readable) }
        if (c.state == .established || c.state == .closeWait) && !c.finQueued && c.sendBuffer.freeSpace > 0 {
            r.insert(.writable)
        }
        if c.state == .closed || (c.finReceived && (c.finQueued && c.finAcked)) { r.insert([.hangUp, .writable]) }
        return r
    }
}
