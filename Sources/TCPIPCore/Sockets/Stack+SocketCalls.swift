/// A socket's readiness, as `poll(2)` reports it.
public struct Readiness: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Data (or EOF) can be read without blocking.
    public static let readable = Readiness(rawValue: 1)
    /// Data can be written without blocking.
    public static let writable = Readiness(rawValue: 2)
    /// An error is pending.
    public static let error = Readiness(rawValue: 4)
    /// The connection is closed in both directions.
    public static let hangUp = Readiness(rawValue: 8)
}

/// One row of the socket table, as `netstat` shows it.
public struct SocketSummary: Sendable, Equatable {
    /// The descriptor, or nil for sockets without one (TIME-WAIT, embryonic).
    public var fd: Int32?
    /// `"udp"` or `"tcp"`.
    public var proto: String
    /// Local address and port; nil when unbound.
    public var local: (address: IPv4Address, port: UInt16)?
    /// Remote address and port; nil when unconnected.
    public var remote: (address: IPv4Address, port: UInt16)?
    /// RFC 9293 state name for TCP; nil for UDP.
    public var state: String?
    /// Bytes waiting to be sent.
    public var sendQueue: Int
    /// Bytes waiting to be read.
    public var receiveQueue: Int

    public static func == (a: SocketSummary, b: SocketSummary) -> Bool {
        a.fd == b.fd && a.proto == b.proto && a.local?.address == b.local?.address && a.local?.port == b.local?.port
            && a.remote?.address == b.remote?.address && a.remote?.port == b.remote?.port && a.state == b.state
            && a.sendQueue == b.sendQueue && a.receiveQueue == b.receiveQueue
    }
}

/// How `shutdown` closes a socket.
public enum ShutdownHow: String, Sendable {
    case read, write, both
}

extension Stack {
    /// `socket(2)`: creates a socket and returns the lowest free descriptor (from 3).
    public mutating func socket(_ type: SocketType) -> Result<Int32, Errno> {
        let options =
            type == .stream
            ? SocketOptions(receiveBuffer: configuration.tcp.receiveBuffer, sendBuffer: configuration.tcp.sendBuffer)
            : SocketOptions(
                receiveBuffer: configuration.defaultReceiveBuffer,
                sendBuffer: configuration.defaultSendBuffer
            )
        guard let fd = sockets.insert(Socket(type: type, options: options)) else { return .failure(.EMFILE) }
        switch type {
        case .dgram: udp.open(fd, receiveBuffer: options.receiveBuffer)
        case .stream: tcpOpen(fd)
        }
        trace(.socketCreated(fd: fd, type: type))
        return .success(fd)
    }

    func socketOrEBADF(_ fd: Int32) -> Result<Socket, Errno> {
        guard let s = sockets[fd] else { return .failure(.EBADF.with("descriptor \(fd) is not an open socket")) }
        return .success(s)
    }

    /// `bind(2)`: gives the socket a local address and port (0: an ephemeral port).
    public mutating func bind(_ fd: Int32, address: IPv4Address = .any, port: UInt16) -> Result<Void, Errno> {
        guard let s = sockets[fd] else { return .failure(.EBADF) }
        if address != .any && !interfaces.contains(where: { $0.address == address }) {
            return .failure(.EADDRNOTAVAIL.with("\(address) is not an address of this stack"))
        }
        if s.type == .stream { return tcpBind(fd, address: address, port: port) }
        return udpBind(fd, address: address, port: port)
    }

    /// `connect(2)`: a stream socket starts the handshake (RFC 9293 §3.10.1 active OPEN); a
    /// datagram socket takes its default peer (and an ephemeral port if unbound).
    public mutating func connect(
        _ fd: Int32,
        address: IPv4Address,
        port: UInt16,
        into effects: inout Effects
    ) -> Result<Void, Errno> {
        guard let s = sockets[fd] else { return .failure(.EBADF) }
        if s.type == .stream { return tcpConnect(fd, address: address, port: port, effects: &effects) }
        return udpConnect(fd, address: address, port: port)
    }

    /// `send(2)`: a datagram to the connected peer.
    public mutating func send(
        _ fd: Int32,
        _ data: UnsafeRawBufferPointer,
        into effects: inout Effects
    ) -> Result<Int, Errno> {
        guard let s = sockets[fd] else { return .failure(.EBADF) }
        if s.type == .stream { return tcpSend(fd, data, effects: &effects) }
        guard let peer = udpPeer(fd) else { return .failure(.EDESTADDRREQ) }
        return sendTo(fd, data, address: peer.address, port: peer.port, into: &effects)
    }

    /// `sendto(2)`: a datagram to `address:port`.
    public mutating func sendTo(
        _ fd: Int32,
        _ data: UnsafeRawBufferPointer,
        address: IPv4Address,
        port: UInt16,
        into effects: inout Effects
    ) -> Result<Int, Errno> {
        guard var s = sockets[fd] else { return .failure(.EBADF) }
        if s.type == .stream { return tcpSend(fd, data, effects: &effects) }
        if let e = s.pendingError {
            s.pendingError = nil
            sockets[fd] = s
            return .failure(e)
        }
        guard data.count <= s.options.sendBuffer else { return .failure(.EMSGSIZE) }
        return udpSendTo(fd, data, address: address, port: port, effects: &effects)
    }

    /// `recvfrom(2)`: the next datagram, at most `max` bytes of it (the rest is discarded, as
    /// POSIX does for datagram sockets). `EAGAIN` when none is queued.
    public mutating func receiveFrom(_ fd: Int32, max: Int) -> Result<ReceivedDatagram, Errno> {
        guard var s = sockets[fd] else { return .failure(.EBADF) }
        guard s.type == .dgram else { return .failure(.EOPNOTSUPP.with("recvfrom needs a datagram socket")) }
        if let e = s.pendingError {
            s.pendingError = nil
            sockets[fd] = s
            return .failure(e)
        }
        return udpReceive(fd, max: max)
    }

    /// `shutdown(2)`.
    public mutating func shutdown(_ fd: Int32, how: ShutdownHow, into effects: inout Effects) -> Result<Void, Errno> {
        guard let s = sockets[fd] else { return .failure(.EBADF) }
        switch s.type {
        case .stream: return tcpShutdown(fd, how: how, effects: &effects)
        case .dgram: return udpShutdown(fd, how: how, effects: &effects)
        }
    }

    /// `close(2)`: frees the descriptor and the socket's port.
    public mutating func close(_ fd: Int32, into effects: inout Effects) -> Result<Void, Errno> {
        guard let s = sockets[fd], let id = sockets.id(of: fd) else { return .failure(.EBADF) }
        switch s.type {
        case .stream: tcpClose(fd, s, effects: &effects)
        case .dgram: udp.close(fd)
        }
        sockets[fd] = nil
        trace(.socketClosed(fd: fd))
        effects.events.append(.changed(id))
        return .success(())
    }

    /// `getsockname(2)`.
    public func localAddress(_ fd: Int32) -> Result<(address: IPv4Address, port: UInt16), Errno> {
        socketOrEBADF(fd).map { $0.type == .stream ? tcpLocalAddress(fd) : udpLocalAddress(fd) }
    }

    /// `getpeername(2)`: `ENOTCONN` when unconnected.
    public func remoteAddress(_ fd: Int32) -> Result<(address: IPv4Address, port: UInt16), Errno> {
        socketOrEBADF(fd).flatMap { s in
            guard let peer = s.type == .stream ? tcpRemoteAddress(fd) : udpPeer(fd) else { return .failure(.ENOTCONN) }
            return .success(peer)
        }
    }

    /// `setsockopt(2)`. Booleans are 0/1; `SO_LINGER` takes seconds or nil for off.
    public mutating func setOption(_ fd: Int32, _ option: SocketOption, _ value: Int?) -> Result<Void, Errno> {
        guard var s = sockets[fd] else { return .failure(.EBADF) }
        if option.isTCPLevel && s.type == .dgram {
            return .failure(.ENOPROTOOPT.with("\(option.rawValue) is a TCP option"))
        }
        if option != .soLinger && value == nil { return .failure(.EINVAL.with("\(option.rawValue) needs a value")) }
        let v = value ?? 0
        switch option {
        // Linux doubles the requested size to leave room for bookkeeping, with floors
        // (SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF); getsockopt returns the doubled value.
        case .soRcvBuf: s.options.receiveBuffer = max(2304, min(v, Int(Int32.max / 2)) * 2)
        case .soSndBuf: s.options.sendBuffer = max(4608, min(v, Int(Int32.max / 2)) * 2)
        case .soReuseAddr: s.options.reuseAddress = v != 0
        case .soKeepAlive: s.options.keepAlive = v != 0
        case .soLinger:
            if let v = value, v < 0 { return .failure(.EINVAL) }
            s.options.linger = value
        case .soError: return .failure(.ENOPROTOOPT.with("SO_ERROR is read-only"))
        case .tcpNoDelay: s.options.noDelay = v != 0
        case .tcpMaxSeg:
            guard (88...32767).contains(v) else { return .failure(.EINVAL) }
            s.options.maxSegment = v
        case .tcpKeepIdle, .tcpKeepIntvl:
            guard (1...32767).contains(v) else { return .failure(.EINVAL) }
            if option == .tcpKeepIdle { s.options.keepIdle = v } else { s.options.keepInterval = v }
        case .tcpKeepCnt:
            guard (1...127).contains(v) else { return .failure(.EINVAL) }
            s.options.keepCount = v
        case .tcpUserTimeout:
            guard v >= 0 else { return .failure(.EINVAL) }
            s.options.userTimeout = v
        }
        sockets[fd] = s
        switch s.type {
        case .stream: tcpApplyOptions(fd, s.options, changed: option)
        case .dgram: udpApplyOptions(fd, s.options)
        }
        return .success(())
    }

    /// `getsockopt(2)`: the effective value (nil: `SO_LINGER` off). For `SO_ERROR` use
    /// `takeError`.
    public func option(_ fd: Int32, _ option: SocketOption) -> Result<Int?, Errno> {
        guard let s = sockets[fd] else { return .failure(.EBADF) }
        if option.isTCPLevel && s.type == .dgram {
            return .failure(.ENOPROTOOPT.with("\(option.rawValue) is a TCP option"))
        }
        switch option {
        case .soRcvBuf: return .success(s.options.receiveBuffer)
        case .soSndBuf: return .success(s.options.sendBuffer)
        case .soReuseAddr: return .success(s.options.reuseAddress ? 1 : 0)
        case .soKeepAlive: return .success(s.options.keepAlive ? 1 : 0)
        case .soLinger: return .success(s.options.linger)
        case .soError: return .success(s.pendingError.map { Int($0.code) } ?? 0)
        case .tcpNoDelay: return .success(s.options.noDelay ? 1 : 0)
        case .tcpMaxSeg:
            return .success(tcpMSS(fd) ?? s.options.maxSegment ?? 536)
        case .tcpKeepIdle: return .success(s.options.keepIdle)
        case .tcpKeepIntvl: return .success(s.options.keepInterval)
        case .tcpKeepCnt: return .success(s.options.keepCount)
        case .tcpUserTimeout: return .success(s.options.userTimeout)
        }
    }

    /// `getsockopt(SO_ERROR)`: the pending error, which reading clears.
    public mutating func takeError(_ fd: Int32) -> Result<Errno?, Errno> {
        guard var s = sockets[fd] else { return .failure(.EBADF) }
        var e = s.pendingError
        s.pendingError = nil
        sockets[fd] = s
        if e == nil, s.type == .stream { e = tcpTakeError(fd) }
        return .success(e)
    }

    /// The socket's readiness for `poll`; nil when `fd` is not open.
    public func readiness(_ fd: Int32) -> Readiness? {
        guard let s = sockets[fd] else { return nil }
        switch s.type {
        case .stream: return tcpReadiness(fd, s)
        case .dgram: return udpReadiness(fd, pendingError: s.pendingError != nil)
        }
    }

    /// The socket's type; nil when `fd` is not open.
    public func socketType(_ fd: Int32) -> SocketType? { sockets[fd]?.type }

    /// The socket table, as `netstat` shows it, by descriptor.
    public func netstat() -> [SocketSummary] {
        sockets.descriptors.map { fd in
            sockets[fd]!.type == .stream ? tcpNetstatRow(fd) : udpNetstatRow(fd)
        } + tcpNetstat()
    }

    /// Records a socket's pending error and wakes its waiters.
    mutating func socketError(fd: Int32, _ error: Errno, effects: inout Effects) {
        guard var s = sockets[fd] else { return }
        s.pendingError = error
        sockets[fd] = s
        socketChanged(fd, effects: &effects)
    }

    /// Reports that the socket open under `fd` may have changed readiness.
    mutating func socketChanged(_ fd: Int32, effects: inout Effects) {
        if let id = sockets.id(of: fd) { effects.events.append(.changed(id)) }
    }

    /// The identity of the socket open under `fd` now; nil when `fd` is not open.
    public func socketID(_ fd: Int32) -> SocketID? { sockets.id(of: fd) }
}
