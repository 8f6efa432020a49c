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
}
