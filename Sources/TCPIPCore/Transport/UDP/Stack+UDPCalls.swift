extension Stack {
    /// `bind(2)` on a datagram socket (RFC 768; the ephemeral range of RFC 6056 for port 0).
    mutating func udpBind(_ fd: Int32, address: IPv4Address, port: UInt16) -> Result<Void, Errno> {
        guard let e = udp[fd], let s = sockets[fd] else { return .failure(.EBADF) }
        guard e.localPort == 0 else { return .failure(.EINVAL.with("socket is already bound")) }
        var chosen = port
        if port == 0 {
            guard let p = ephemeralUDPPort() else { return .failure(.EADDRINUSE.with("no free ephemeral port")) }
            chosen = p
        } else if udp.conflicts(address: address, port: port, reuse: s.options.reuseAddress) {
            return .failure(.EADDRINUSE.with("port \(port) is already bound"))
        }
        udp.bind(fd, address: address, port: chosen)
        trace(.socketBound(fd: fd, address: address, port: chosen))
        return .success(())
    }

    /// `connect(2)` on a datagram socket: sets the default peer (and binds if unbound).
    mutating func udpConnect(_ fd: Int32, address: IPv4Address, port: UInt16) -> Result<Void, Errno> {
        guard let e = udp[fd] else { return .failure(.EBADF) }
        guard port != 0 else { return .failure(.EINVAL.with("port 0")) }
        guard route(to: address) != nil else { return .failure(.ENETUNREACH) }
        if e.localPort == 0 {
            guard let p = ephemeralUDPPort() else { return .failure(.EAGAIN.with("no free ephemeral port")) }
            udp.bind(fd, address: e.localAddress, port: p)
            trace(.socketBound(fd: fd, address: e.localAddress, port: p))
        }
        udp.modify(fd) { e in
            e.remoteAddress = address
            e.remotePort = port
        }
        sockets.modify(fd) { $0.pendingError = nil }
        return .success(())
    }

    /// The default peer of a connected datagram socket.
    func udpPeer(_ fd: Int32) -> (address: IPv4Address, port: UInt16)? {
        guard let e = udp[fd], let ra = e.remoteAddress else { return nil }
        return (ra, e.remotePort)
    }

    /// `getsockname(2)` of a datagram socket.
    func udpLocalAddress(_ fd: Int32) -> (address: IPv4Address, port: UInt16) {
        (udp[fd]?.localAddress ?? .any, udp[fd]?.localPort ?? 0)
    }

    /// `sendto(2)` on a datagram socket, once the socket layer's checks passed.
    mutating func udpSendTo(
        _ fd: Int32,
        _ data: UnsafeRawBufferPointer,
        address: IPv4Address,
        port: UInt16,
        effects: inout Effects
    ) -> Result<Int, Errno> {
        guard udp[fd]?.writeShut == false else { return .failure(.EPIPE) }
        return udpOutput(fd: fd, data: data, destination: address, port: port, effects: &effects)
    }

    /// `recvfrom(2)`: the next datagram, at most `max` bytes of it (the rest is discarded, as
    /// POSIX does for datagram sockets). `EAGAIN` when none is queued.
    mutating func udpReceive(_ fd: Int32, max: Int) -> Result<ReceivedDatagram, Errno> {
        guard var d = udp.dequeue(fd) else {
            return .failure(udp[fd]?.readShut == true ? .EAGAIN.with("socket is shut down for reading") : .EAGAIN)
        }
        if d.bytes.count > max { d.bytes.removeLast(d.bytes.count - Swift.max(0, max)) }
        return .success(d)
    }

    /// `shutdown(2)` on a connected datagram socket.
    mutating func udpShutdown(_ fd: Int32, how: ShutdownHow, effects: inout Effects) -> Result<Void, Errno> {
        guard udp[fd]?.isConnected == true else { return .failure(.ENOTCONN) }
        udp.modify(fd) { e in
            if how != .write { e.readShut = true }
            if how != .read { e.writeShut = true }
        }
        socketChanged(fd, effects: &effects)
        return .success(())
    }

    /// Applies the socket's options to its endpoint after `setsockopt`.
    mutating func udpApplyOptions(_ fd: Int32, _ options: SocketOptions) {
        udp.modify(fd) { e in
            e.reuseAddress = options.reuseAddress
            e.receiveBuffer = options.receiveBuffer
        }
    }

    /// Datagram readiness for `poll`.
    func udpReadiness(_ fd: Int32, pendingError: Bool) -> Readiness {
        guard let e = udp[fd] else { return [] }
        var r: Readiness = []
        if !e.queue.isEmpty || e.readShut { r.insert(.readable) }
        if !e.writeShut { r.insert(.writable) }
        if pendingError { r.insert(.error) }
        if e.readShut && e.writeShut { r.insert(.hangUp) }
        return r
    }

    /// The `netstat` row of a datagram socket.
    func udpNetstatRow(_ fd: Int32) -> SocketSummary {
        let e = udp[fd] ?? UDPSocketState(receiveBuffer: 0)
        return SocketSummary(
            fd: fd,
            proto: "udp",
            local: e.localPort == 0 ? nil : (e.localAddress, e.localPort),
            remote: e.remoteAddress.map { ($0, e.remotePort) },
            state: nil,
            sendQueue: 0,
            receiveQueue: e.queuedBytes
        )
    }
}
