extension Stack {
    /// The TCP side of a new stream socket.
    mutating func tcpOpen(_ fd: Int32) { tcp.endpoints[fd] = TCPSocketState() }

    /// `shutdown(2)` on a stream socket: SHUT_RD stops taking data; SHUT_WR sends our FIN
    /// after the data (RFC 9293 §3.10.4 CLOSE for the sending side).
    mutating func tcpShutdown(_ fd: Int32, how: ShutdownHow, effects: inout Effects) -> Result<Void, Errno> {
        withConnection(fd, effects: &effects) { stack, c, effects in
            if how != .write {
                c.readShut = true
                if let id = c.owner { effects.events.append(.changed(id)) }
            }
            if how != .read { stack.tcpShutdownWrite(&c, effects: &effects) }
            return .success(())
        }
    }

    /// `getsockname(2)` of a stream socket.
    func tcpLocalAddress(_ fd: Int32) -> (address: IPv4Address, port: UInt16) {
        (tcp.endpoints[fd]?.localAddress ?? .any, tcp.endpoints[fd]?.localPort ?? 0)
    }

    /// `getpeername(2)` of a stream socket: nil while unconnected, still connecting, or reset.
    func tcpRemoteAddress(_ fd: Int32) -> (address: IPv4Address, port: UInt16)? {
        guard let slot = tcp.endpoints[fd]?.connection, let c = tcp.slots[slot], c.state != .synSent,
            c.state != .closed || c.resetError == nil
        else { return nil }
        return (c.tuple.remoteAddress, c.tuple.remotePort)
    }

    /// The effective MSS of a connected stream socket (TCP_MAXSEG), else nil.
    func tcpMSS(_ fd: Int32) -> Int? {
        guard let slot = tcp.endpoints[fd]?.connection, let c = tcp.slots[slot] else { return nil }
        return c.mss
    }

    /// The connection's pending error, which reading clears.
    mutating func tcpTakeError(_ fd: Int32) -> Errno? {
        guard let slot = tcp.endpoints[fd]?.connection, tcp.slots[slot] != nil else { return nil }
        defer { tcp.slots[slot]!.pendingError = nil }
        return tcp.slots[slot]!.pendingError
    }

    /// Applies the socket's options to its TCP side after `setsockopt` changed `changed`.
    mutating func tcpApplyOptions(_ fd: Int32, _ options: SocketOptions, changed: SocketOption) {
        tcp.endpoints[fd]?.reuseAddress = options.reuseAddress
        guard let slot = tcp.endpoints[fd]?.connection, var c = tcp.slots[slot].take() else { return }
        c.noDelay = options.noDelay
        c.keepAlive = options.keepAlive
        c.keepIdle = Int64(options.keepIdle) * 1_000_000_000
        c.keepInterval = Int64(options.keepInterval) * 1_000_000_000
        c.keepCount = options.keepCount
        c.userTimeout = Int64(options.userTimeout) * 1_000_000
        if changed == .soRcvBuf {
            // Never below the window already told: the edge offered stays storable.
            c.receiveBuffer.setCapacity(max(options.receiveBuffer, c.rcvAdvertised - c.rcvNxt))
        }
        if changed == .soSndBuf { c.sendBuffer.setCapacity(options.sendBuffer) }
        if c.keepAlive && c.keepaliveAt == nil && c.state.isSynchronized {
            c.keepaliveAt = now.adding(nanoseconds: c.keepIdle)
        } else if c.keepAlive && changed == .tcpKeepIdle && c.state.isSynchronized {
            // A new idle time applies to the running timer, counted from the last segment
            // received (as Linux's tcp_sock_set_keepidle).
            c.keepaliveAt = max(now, c.lastSegmentAt.adding(nanoseconds: c.keepIdle))
        }
        tcpSchedule(c, slot: slot)
        tcp.slots[slot] = consume c
    }

    /// The `netstat` row of a stream socket.
    func tcpNetstatRow(_ fd: Int32) -> SocketSummary {
        let ep = tcp.endpoints[fd] ?? TCPSocketState()
        if let listen = ep.listen {
            return SocketSummary(
                fd: fd,
                proto: "tcp",
                local: (ep.localAddress, ep.localPort),
                remote: nil,
                state: "LISTEN",
                sendQueue: 0,
                receiveQueue: listen.acceptQueue.count
            )
        }
        if let slot = ep.connection, let c = tcp.slots[slot] { return Self.summary(of: c, fd: fd) }
        return SocketSummary(
            fd: fd,
            proto: "tcp",
            local: ep.localPort == 0 ? nil : (ep.localAddress, ep.localPort),
            remote: nil,
            state: "CLOSED",
            sendQueue: 0,
            receiveQueue: 0
        )
    }

    /// The TCP rows of `netstat` after the sockets': connections without a descriptor.
    func tcpNetstat() -> [SocketSummary] {
        var rows: [SocketSummary] = []
        for slot in tcp.slots.indices {
            guard let c = tcp.slots[slot], c.fd == nil, c.state != .closed else { continue }
            rows.append(Self.summary(of: c, fd: nil))
        }
        return rows
    }

    /// A connection's `netstat` row.
    static func summary(of c: TCPConnection, fd: Int32?) -> SocketSummary {
        SocketSummary(
            fd: fd,
            proto: "tcp",
            local: (c.tuple.localAddress, c.tuple.localPort),
            remote: (c.tuple.remoteAddress, c.tuple.remotePort),
            state: c.state.name,
            sendQueue: c.sendBuffer.count,
            receiveQueue: c.receiveBuffer.readable
        )
    }
}
