import TCPIPCore

/// The TCP discard service (RFC 863): every byte received is read and dropped; once the peer
/// has closed its side (FIN) the connection is closed.
///
/// The benchmark sink: it runs on the host's owner thread, driven by socket events, and drops
/// bytes inside the stack's receive buffer without copying them anywhere
/// (`receive(_:discardingUpTo:into:)`), so a read costs no copy and no allocation.
public final class TCPDiscardApplication: HostApplication {
    /// The port it serves.
    public let port: UInt16
    /// The local address it binds (`.any`: every address of the stack).
    public let address: IPv4Address
    /// The listening socket's descriptor; -1 before `start`.
    public private(set) var listener: Int32 = -1
    /// Connections accepted so far (owner thread).
    public private(set) var accepted = 0
    /// Bytes discarded so far (owner thread).
    public private(set) var discardedBytes = 0
    /// Connections open now (owner thread).
    public var openConnections: Int { connections.count }

    /// The open connections. A set keyed by descriptor: there is no per-connection state.
    var connections: Set<Int32> = []
    let backlog: Int

    /// A discard service on `port` (9 is the well-known one), bound to `address`.
    public init(port: UInt16, address: IPv4Address = .any, backlog: Int = 1024) {
        self.port = port
        self.address = address
        self.backlog = backlog
    }

    /// Opens the listening socket. Fails with `EADDRINUSE` when the port already has a
    /// listener, naming the port in the message.
    public func start(stack: inout Stack, effects: inout Effects) throws(Errno) {
        listener = try StreamSupport.listen(
            stack: &stack,
            effects: &effects,
            address: address,
            port: port,
            backlog: backlog,
            service: "TCP discard"
        )
    }

    public func handle(_ event: SocketEvent, stack: inout Stack, effects: inout Effects) {
        guard let fd = event.descriptor, listener >= 0 else { return }
        if fd == listener {
            while case .success(let a) = stack.accept(listener, into: &effects) {
                accepted += 1
                connections.insert(a.fd)
                // Data and even the FIN may have arrived before the accept.
                drain(a.fd, stack: &stack, effects: &effects)
            }
            return
        }
        guard connections.contains(fd) else { return }
        drain(fd, stack: &stack, effects: &effects)
    }

    /// Drops everything readable; closes at EOF or on an error.
    func drain(_ fd: Int32, stack: inout Stack, effects: inout Effects) {
        // Two turns normally suffice (the bytes, then EAGAIN or EOF); the bound is a guard.
        for _ in 0..<64 {
            switch stack.receive(fd, discardingUpTo: Int.max, into: &effects) {
            case .success(let r):
                if r.eof {
                    connections.remove(fd)
                    _ = stack.close(fd, into: &effects)
                    return
                }
                discardedBytes += r.count
                if r.count == 0 { return }
            case .failure(let e):
                if e == .EAGAIN { return }
                // A reset or EBADF: the connection is over.
                connections.remove(fd)
                _ = stack.close(fd, into: &effects)
                return
            }
        }
    }
}
