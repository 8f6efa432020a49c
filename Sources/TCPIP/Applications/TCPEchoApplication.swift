import TCPIPCore

/// The TCP echo service (RFC 862): every byte received on a connection is sent back on it,
/// in order; once the peer has closed its side (FIN) and everything is echoed, the connection
/// is closed.
///
/// It runs on the host's owner thread, driven by socket events (no thread hop per segment),
/// serves any number of connections at once, and reads through one reused buffer. When the
/// send buffer is full, the bytes it did not take wait in the connection's pending buffer and
/// nothing more is read until they are sent: the receive window closes, which slows the peer
/// down (TCP flow control) instead of growing memory.
public final class TCPEchoApplication: HostApplication {
    /// The port it serves.
    public let port: UInt16
    /// The local address it binds (`.any`: every address of the stack).
    public let address: IPv4Address
    /// The listening socket's descriptor; -1 before `start`.
    public private(set) var listener: Int32 = -1
    /// Connections accepted so far (owner thread).
    public private(set) var accepted = 0
    /// Bytes echoed so far (owner thread).
    public private(set) var echoedBytes = 0
    /// Connections open now (owner thread).
    public var openConnections: Int { connections.count }

    struct Connection {
        /// Bytes read but not yet taken by the send buffer: `pending[pendingStart...]`.
        var pending: [UInt8] = []
        var pendingStart = 0
        /// The peer's FIN has been read.
        var eof = false
        var hasPending: Bool { pendingStart < pending.count }
    }

    enum Outcome { case keep, close }

    var connections: [Int32: Connection] = [:]
    let scratch: ScratchBuffer
    let backlog: Int

    /// An echo service on `port` (7 is the well-known one), bound to `address`.
    public init(port: UInt16, address: IPv4Address = .any, backlog: Int = 1024, bufferSize: Int = 64 * 1024) {
        self.port = port
        self.address = address
        self.backlog = backlog
        scratch = ScratchBuffer(size: max(1, bufferSize))
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
            service: "TCP echo"
        )
    }

    public func handle(_ event: SocketEvent, stack: inout Stack, effects: inout Effects) {
        guard let fd = event.descriptor, listener >= 0 else { return }
        if fd == listener {
            acceptAll(stack: &stack, effects: &effects)
            return
        }
        service(fd, stack: &stack, effects: &effects)
    }

    func acceptAll(stack: inout Stack, effects: inout Effects) {
        while case .success(let a) = stack.accept(listener, into: &effects) {
            accepted += 1
            // An echo wants each answer out at once, not held back by Nagle (RFC 9293 §3.7.4).
            _ = stack.setOption(a.fd, .tcpNoDelay, 1)
            connections[a.fd] = Connection()
            // Data and even the FIN may have arrived before the accept: no event will say so.
            service(a.fd, stack: &stack, effects: &effects)
        }
    }

    func service(_ fd: Int32, stack: inout Stack, effects: inout Effects) {
        guard let i = connections.index(forKey: fd) else { return }
        let outcome = echo(fd, &connections.values[i], stack: &stack, effects: &effects)
        if outcome == .close {
            connections.remove(at: i)
            _ = stack.close(fd, into: &effects)
        }
    }

    /// Sends what is pending, then reads and sends until the socket has nothing more to read
    /// or the send buffer is full.
    func echo(_ fd: Int32, _ c: inout Connection, stack: inout Stack, effects: inout Effects) -> Outcome {
        // Bounded: each turn consumes a buffer-full or ends the loop; the receive buffer is
        // bounded by SO_RCVBUF and nothing arrives while this runs.
        for _ in 0..<4096 {
            if c.hasPending {
                let r = c.pending.withUnsafeBytes { p in
                    stack.send(fd, UnsafeRawBufferPointer(rebasing: p[c.pendingStart...]), into: &effects)
                }
                switch r {
                case .success(let n):
                    echoedBytes += n
                    c.pendingStart += n
                    if c.hasPending { return .keep }
                    c.pending.removeAll(keepingCapacity: true)
                    c.pendingStart = 0
                case .failure(let e):
                    return e == .EAGAIN ? .keep : .close
                }
            }
            if c.eof { return .close }
            switch stack.receive(fd, to: scratch.bytes, into: &effects) {
            case .success(let r):
                if r.eof {
                    c.eof = true
                    continue
                }
                if r.count == 0 { return .keep }
                let data = UnsafeRawBufferPointer(scratch.prefix(r.count))
                var taken = 0
                switch stack.send(fd, data, into: &effects) {
                case .success(let n): taken = n
                case .failure(let e): if e != .EAGAIN { return .close }
                }
                echoedBytes += taken
                if taken < r.count {
                    c.pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[taken...]))
                    return .keep
                }
            case .failure(let e):
                // EAGAIN: drained. Anything else (a reset, EBADF): the connection is over.
                return e == .EAGAIN ? .keep : .close
            }
        }
        return .keep
    }
}
