import TCPIPCore

/// A UDP socket of a `Host`, with blocking calls that may be made from any thread.
///
/// Each call queues to the host's owner thread and waits there for its answer, so
/// a call costs a thread hop each way: for a server that handles many datagrams, prefer a
/// `HostApplication` (see `UDPEchoApplication`), which runs on the owner thread.
///
/// Errors are the `Errno` a Linux program would see from the same call. The descriptor
/// belongs to the host's stack: closing it frees it for reuse, after which this object's calls
/// fail with `EBADF` (or reach the socket that reused the number, as with POSIX descriptors).
///
/// ```swift
/// let socket = try DatagramSocket(host: host)
/// try socket.bind(port: 9000)
/// let datagram = try socket.receiveFrom(timeout: .seconds(5))
/// try socket.sendTo(datagram.bytes, address: datagram.address, port: datagram.port)
/// try socket.close()
/// ```
public final class DatagramSocket: Sendable {
    /// The host whose stack holds the socket.
    public let host: Host
    /// The socket's descriptor in the stack (from 3 up, as `socket(2)` hands them out).
    public let fd: Int32

    /// `socket(AF_INET, SOCK_DGRAM)`: opens a UDP socket in `host`'s stack. Fails with
    /// `EMFILE` when the descriptor table is full.
    public init(host: Host) throws(Errno) {
        self.host = host
        fd = try host.perform { stack, _ in stack.socket(.dgram) }.get()
    }

    /// `bind(2)`: gives the socket a local address (`.any`: every address of the stack) and
    /// port (0: an ephemeral port). Fails with `EADDRINUSE` when the port is taken,
    /// `EADDRNOTAVAIL` when `address` is not the stack's, `EINVAL` when already bound.
    public func bind(address: IPv4Address = .any, port: UInt16) throws(Errno) {
        let fd = fd
        try host.perform { stack, _ in stack.bind(fd, address: address, port: port) }.get()
    }

    /// `connect(2)`: sets the default peer for `send`, binds an ephemeral port if unbound, and
    /// from then on takes datagrams from that peer only. ICMP errors about datagrams sent to
    /// it (e.g. port unreachable) are reported by the next call as `ECONNREFUSED` and the like.
    public func connect(address: IPv4Address, port: UInt16) throws(Errno) {
        let fd = fd
        try host.perform { stack, effects in stack.connect(fd, address: address, port: port, into: &effects) }.get()
    }

    /// `send(2)`: one datagram to the connected peer; returns the byte count. Fails with
    /// `EDESTADDRREQ` when unconnected, `EMSGSIZE` when larger than `SO_SNDBUF` or 65507 bytes.
    @discardableResult
    public func send(_ bytes: [UInt8]) throws(Errno) -> Int {
        let fd = fd
        return try host.perform { stack, effects in
            bytes.withUnsafeBytes { stack.send(fd, $0, into: &effects) }
        }.get()
    }

    /// `sendto(2)`: one datagram to `address:port`; returns the byte count. The first datagram
    /// to an unresolved neighbour waits in the ARP queue, so this never blocks.
    @discardableResult
    public func sendTo(_ bytes: [UInt8], address: IPv4Address, port: UInt16) throws(Errno) -> Int {
        let fd = fd
        return try host.perform { stack, effects in
            bytes.withUnsafeBytes { stack.sendTo(fd, $0, address: address, port: port, into: &effects) }
        }.get()
    }

    /// `recvfrom(2)`: the next datagram and its sender, at most `max` bytes of it (the rest is
    /// discarded, as POSIX does). Waits up to `timeout` (nil: without limit; zero: not at all)
    /// and then fails with `EAGAIN`. A pending error (e.g. `ECONNREFUSED`) is reported once.
    public func receiveFrom(max: Int = Stack.maxUDPPayload, timeout: Duration? = nil) throws(Errno) -> ReceivedDatagram
    {
        let fd = fd
        return try host.callRetryingWhileBlocked(fd: fd, awaiting: .readable, timeout: timeout.map(Self.nanoseconds)) {
            stack,
            _ in stack.receiveFrom(fd, max: max)
        }.get()
    }

    /// `getsockname(2)`: the local address and port (`0.0.0.0:0` while unbound).
    public func localAddress() throws(Errno) -> (address: IPv4Address, port: UInt16) {
        let fd = fd
        return try host.perform { stack, _ in stack.localAddress(fd) }.get()
    }

    /// `getpeername(2)`: the connected peer; `ENOTCONN` when unconnected.
    public func remoteAddress() throws(Errno) -> (address: IPv4Address, port: UInt16) {
        let fd = fd
        return try host.perform { stack, _ in stack.remoteAddress(fd) }.get()
    }

    /// `close(2)`: frees the descriptor and the port. Fails with `EBADF` when already closed.
    public func close() throws(Errno) {
        let fd = fd
        try host.perform { stack, effects in stack.close(fd, into: &effects) }.get()
    }

    /// A duration in nanoseconds, clamped to 0…`Int64.max`.
    static func nanoseconds(_ d: Duration) -> Int64 {
        let (seconds, attoseconds) = d.components
        guard seconds >= 0 else { return 0 }
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? Int64.max : ns &+ attoseconds / 1_000_000_000
    }
}

extension Host {
    /// Runs `body` on the owner thread and again after each event of `fd`'s socket while it
    /// fails with `EAGAIN` and `fd` lacks the `awaiting` readiness — the way a blocking socket
    /// call waits. Closing the socket meanwhile ends the wait with `EBADF`.
    /// An `EAGAIN` while `fd` has that readiness (e.g. a read on a socket shut down for reading)
    /// is returned at once. After `timeout` nanoseconds (nil: no limit; 0: one try) it gives
    /// `EAGAIN`.
    func callRetryingWhileBlocked<T: Sendable>(
        fd: Int32,
        awaiting: Readiness,
        timeout: Int64?,
        _ body: (inout Stack, inout Effects) -> Result<T, Errno>
    ) -> Result<T, Errno> {
        let result = call(socket: fd, timeout: timeout) { stack, effects -> Result<T, Errno>? in
            let r = body(&stack, &effects)
            if case .failure(let e) = r, e == .EAGAIN, let ready = stack.readiness(fd), ready.isDisjoint(with: awaiting)
            {
                return nil
            }
            return r
        }
        return result ?? .failure(.EAGAIN.with("timed out: the call would block"))
    }
}
