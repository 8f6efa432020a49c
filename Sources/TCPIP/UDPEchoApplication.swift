import TCPIPCore

/// The UDP echo service (RFC 862): every datagram received on a port is sent back to its
/// sender, unchanged, from that port.
///
/// It runs on the host's owner thread, driven by socket events, so an echo costs no thread hop.
/// Add it to a `Host` before `start`.
public final class UDPEchoApplication: HostApplication {
    /// The port it serves.
    public let port: UInt16
    /// The local address it binds (`.any`: every address of the stack).
    public let address: IPv4Address
    /// Its socket's descriptor; -1 before `start`.
    public private(set) var fd: Int32 = -1
    /// Datagrams echoed so far (owner thread).
    public private(set) var echoed = 0

    /// An echo service on `port` (7 is the well-known one), bound to `address`.
    public init(port: UInt16, address: IPv4Address = .any) {
        self.port = port
        self.address = address
    }

    /// Opens and binds the socket. Fails with `EADDRINUSE` when the port is taken (e.g. the
    /// same port given twice), naming the port in the message.
    public func start(stack: inout Stack, effects: inout Effects) throws(Errno) {
        let fd = try stack.socket(.dgram).get()
        if case .failure(let e) = stack.bind(fd, address: address, port: port) {
            _ = stack.close(fd, into: &effects)
            throw e.with("UDP echo on port \(port): \(e.message)")
        }
        self.fd = fd
    }

    /// Echoes every queued datagram when its socket becomes readable.
    public func handle(_ event: SocketEvent, stack: inout Stack, effects: inout Effects) {
        guard let changed = event.descriptor, changed == fd, fd >= 0 else { return }
        // The queue is bounded by SO_RCVBUF, so this ends; the cap is a second guard.
        for _ in 0..<100_000 {
            switch stack.receiveFrom(fd, max: Stack.maxUDPPayload) {
            case .success(let d):
                let sent = d.bytes.withUnsafeBytes {
                    stack.sendTo(fd, $0, address: d.address, port: d.port, into: &effects)
                }
                if case .success = sent { echoed += 1 }
            case .failure(let e):
                // A pending error was reported and cleared: look again. EAGAIN: drained.
                // EBADF: the descriptor was closed under us (descriptors belong to the stack).
                if e == .EAGAIN || e == .EBADF { return }
            }
        }
    }
}
