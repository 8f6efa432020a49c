import TCPIPCore

/// A TCP connection of a `Host`, with blocking calls that may be made from any thread.
///
/// Each call queues to the host's owner thread and waits there for its answer: a
/// call costs a thread hop each way, and `write` hands over all its bytes in one call however
/// many times it has to wait for buffer space. Several threads may use one socket at once (one
/// reading while another writes, say), as with POSIX descriptors.
///
/// Errors are the `Errno` a Linux program would see from the same call. The descriptor
/// belongs to the host's stack: `close()` frees it (after which this object's calls fail with
/// `EBADF`, or reach the socket that reused the number, as with POSIX descriptors); an object
/// dropped without `close()` leaves its socket open.
///
/// ```swift
/// let socket = try StreamSocket.connect(host: host, address: IPv4Address("10.99.0.1")!, port: 8000)
/// try socket.write(Array("GET / HTTP/1.0\r\n\r\n".utf8))
/// var response: [UInt8] = []
/// while true {
///     let chunk = try socket.read()   // empty: the server closed its side
///     if chunk.isEmpty { break }
///     response += chunk
/// }
/// try socket.close()
/// ```
public final class StreamSocket: Sendable {
    /// The host whose stack holds the socket.
    public let host: Host
    /// The socket's descriptor in the stack (from 3 up, as `socket(2)` hands them out).
    public let fd: Int32

    /// `socket(AF_INET, SOCK_STREAM)`: an unconnected TCP socket, to set options on or bind
    /// before `connect`. Fails with `EMFILE` when the descriptor table is full.
    public init(host: Host) throws(Errno) {
        self.host = host
        fd = try host.perform { stack, _ in stack.socket(.stream) }.get()
    }

    /// A socket for a descriptor the stack already holds (e.g. one `accept` returned).
    public init(host: Host, fd: Int32) {
        self.host = host
        self.fd = fd
    }

    /// Opens a socket and connects it to `address:port` (see `connect(address:port:timeout:)`).
    /// On failure the socket is closed again; a `timeout` that expires before the handshake
    /// completes aborts it and fails with `ETIMEDOUT`.
    public static func connect(
        host: Host,
        address: IPv4Address,
        port: UInt16,
        timeout: Duration? = nil
    ) throws(Errno) -> StreamSocket {
        let socket = try StreamSocket(host: host)
        do {
            try socket.connect(address: address, port: port, timeout: timeout)
        } catch {
            let fd = socket.fd
            _ = host.perform { stack, effects in
                _ = stack.setOption(fd, .soLinger, 0)
                return stack.close(fd, into: &effects)
            }
            throw error == .EINPROGRESS ? Errno.ETIMEDOUT.with("no connection within the timeout") : error
        }
        return socket
    }

    /// `listen(2)` on a new socket bound to `port` (0: an ephemeral port): see
    /// `StreamListener.init(host:address:port:backlog:reuseAddress:)`.
    public static func listen(
        host: Host,
        address: IPv4Address = .any,
        port: UInt16,
        backlog: Int = 128
    )
        throws(Errno) -> StreamListener
    {
        try StreamListener(host: host, address: address, port: port, backlog: backlog)
    }

    /// `bind(2)`: the local address (`.any`: every address of the stack) and port (0: an
    /// ephemeral port) to connect from. Fails with `EADDRINUSE` when the port is taken.
    public func bind(address: IPv4Address = .any, port: UInt16) throws(Errno) {
        let fd = fd
        try host.perform { stack, _ in stack.bind(fd, address: address, port: port) }.get()
    }

    /// `connect(2)`: the three-way handshake (RFC 9293 §3.5). Waits until it completes or
    /// fails (`ECONNREFUSED` on a RST, `ETIMEDOUT` when the SYNs go unanswered,
    /// `EHOSTUNREACH`, …), or until `timeout` (nil: without limit; zero: not at all) passes,
    /// which fails with `EINPROGRESS` while the handshake carries on — call `connect` again
    /// for the outcome: `EALREADY` while it runs, success once connected, or the failure.
    public func connect(address: IPv4Address, port: UInt16, timeout: Duration? = nil) throws(Errno) {
        let r = host.streamConnect(
            fd: fd,
            address: address,
            port: port,
            timeout: timeout.map(DatagramSocket.nanoseconds)
        )
        if case .failure(let e) = r, e == .EISCONN {
            // A repeated call after `EINPROGRESS`: the handshake has completed.
            return
        }
        try r.get()
    }

    /// `send(2)`: copies as many bytes as fit into the send buffer and returns the count; waits
    /// only while none fit (or the handshake runs), up to `timeout` (nil: without limit; zero:
    /// not at all), then fails with `EAGAIN`. `EPIPE` after `shutdown(.write)` or `close`;
    /// `ECONNRESET` once after a reset.
    @discardableResult
    public func send(_ bytes: [UInt8], timeout: Duration? = nil) throws(Errno) -> Int {
        let fd = fd
        return try host.callRetryingWhileBlocked(
            fd: fd,
            awaiting: .writable,
            timeout: timeout.map(DatagramSocket.nanoseconds)
        ) {
            stack,
            effects in bytes.withUnsafeBytes { stack.send(fd, $0, into: &effects) }
        }.get()
    }

    /// Writes every byte of `bytes`, waiting for room in the send buffer as often as needed.
    /// On a failure (`EPIPE`, `ECONNRESET`, …) the bytes before it have been handed to TCP.
    public func write(_ bytes: [UInt8]) throws(Errno) {
        try host.streamWriteAll(fd: fd, bytes).get()
    }

    /// `recv(2)`: up to `max` bytes (at least 1) of what has arrived; an empty array at the end
    /// of the stream (the peer's FIN, or after `shutdown(.read)`). Waits until something has
    /// arrived or `timeout` (nil: without limit; zero: not at all) passes, then fails with
    /// `EAGAIN`. After a reset the bytes received before it are still read, then one call
    /// fails with `ECONNRESET`, and later ones return the end of the stream.
    public func read(max: Int = 65536, timeout: Duration? = nil) throws(Errno) -> [UInt8] {
        guard max > 0 else { throw Errno.EINVAL.with("read needs max > 0") }
        let fd = fd
        return try host.callRetryingWhileBlocked(
            fd: fd,
            awaiting: .readable,
            timeout: timeout.map(DatagramSocket.nanoseconds)
        ) {
            stack,
            effects in stack.receive(fd, max: max, into: &effects)
        }.get().bytes
    }

    /// `recv(2)` into the caller's memory: copies up to `buffer.count` bytes (at least 1) of
    /// what has arrived into `buffer` and returns the count; 0 at the end of the stream. Waits
    /// and fails as `read(max:timeout:)` does, but allocates nothing: the owner thread copies
    /// from the receive buffer straight into `buffer` while this thread waits.
    public func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration? = nil) throws(Errno) -> Int {
        guard buffer.count > 0 else { throw Errno.EINVAL.with("read needs a non-empty buffer") }
        let fd = fd
        return try host.callRetryingWhileBlocked(
            fd: fd,
            awaiting: .readable,
            timeout: timeout.map(DatagramSocket.nanoseconds)
        ) {
            stack,
            effects in stack.receive(fd, to: buffer, into: &effects)
        }.get().count
    }

    /// `read(into:timeout:)` into a reusable array: fills `buffer` from its start and returns
    /// the count (0: the end of the stream); the array keeps its size and storage.
    public func read(into buffer: inout [UInt8], timeout: Duration? = nil) throws(Errno) -> Int {
        let r = buffer.withUnsafeMutableBytes { b in Result { () throws(Errno) in try read(into: b, timeout: timeout) }
        }
        return try r.get()
    }

    /// `shutdown(2)`: `.write` sends our FIN once the queued data is out (the peer reads the
    /// end of the stream); `.read` makes further reads return the end of the stream.
    public func shutdown(_ how: ShutdownHow = .write) throws(Errno) {
        let fd = fd
        try host.perform { stack, effects in stack.shutdown(fd, how: how, into: &effects) }.get()
    }

    /// `close(2)`: frees the descriptor; the connection closes with a FIN after the queued
    /// data, unless data received was left unread or `SO_LINGER` is 0, which abort it with a
    /// RST (RFC 9293 §3.10.4, RFC 2525 §2.17). With a positive `SO_LINGER` the call waits until
    /// our FIN is acknowledged or that many seconds pass, as on POSIX.
    public func close() throws(Errno) {
        try host.streamClose(fd: fd).get()
    }

    /// `setsockopt(2)`: booleans as 0/1; `SO_LINGER` in seconds, nil for off.
    public func setOption(_ option: SocketOption, _ value: Int?) throws(Errno) {
        let fd = fd
        try host.perform { stack, _ in stack.setOption(fd, option, value) }.get()
    }

    /// `getsockopt(2)`: the effective value (which may differ from the one set; nil:
    /// `SO_LINGER` off).
    public func option(_ option: SocketOption) throws(Errno) -> Int? {
        let fd = fd
        return try host.perform { stack, _ in stack.option(fd, option) }.get()
    }

    /// `getsockopt(SO_ERROR)`: the pending error, which reading clears; nil for none.
    public func takeError() throws(Errno) -> Errno? {
        let fd = fd
        return try host.perform { stack, _ in stack.takeError(fd) }.get()
    }

    /// `getsockname(2)`: the local address and port.
    public func localAddress() throws(Errno) -> (address: IPv4Address, port: UInt16) {
        let fd = fd
        return try host.perform { stack, _ in stack.localAddress(fd) }.get()
    }

    /// `getpeername(2)`: the peer's address and port; `ENOTCONN` while unconnected.
    public func remoteAddress() throws(Errno) -> (address: IPv4Address, port: UInt16) {
        let fd = fd
        return try host.perform { stack, _ in stack.remoteAddress(fd) }.get()
    }

    /// The connection's control block (state, sequence numbers, windows, RTT, congestion).
    public func info() throws(Errno) -> TCPInfo {
        let fd = fd
        guard let info = try host.perform({ stack, _ in stack.tcpInfo(fd) }).get() else {
            throw Errno.EBADF.with("descriptor \(fd) is not a stream socket")
        }
        return info
    }
}

/// A listening TCP socket of a `Host` (a passive OPEN, RFC 9293 §3.10.1), with a blocking
/// `accept` that may be called from any thread.
///
/// ```swift
/// let listener = try StreamListener(host: host, port: 8080)
/// let connection = try listener.accept()
/// while true {
///     let chunk = try connection.read()
///     if chunk.isEmpty { break }
///     try connection.write(chunk)   // echo
/// }
/// try connection.close()
/// ```
public final class StreamListener: Sendable {
    /// The host whose stack holds the socket.
    public let host: Host
    /// The listening socket's descriptor in the stack.
    public let fd: Int32

    /// `socket` + `bind` + `listen(2)`: takes connections to `address:port` (`.any`: every
    /// address of the stack; port 0: an ephemeral port, see `localAddress()`), keeping up to
    /// `backlog` completed ones waiting for `accept`. Fails with `EADDRINUSE` when the port is
    /// taken (`reuseAddress`: `SO_REUSEADDR`), `EADDRNOTAVAIL` when `address` is not the
    /// stack's; the socket is closed again on failure.
    public init(
        host: Host,
        address: IPv4Address = .any,
        port: UInt16,
        backlog: Int = 128,
        reuseAddress: Bool = false
    ) throws(Errno) {
        self.host = host
        fd = try host.perform { stack, effects -> Result<Int32, Errno> in
            stack.socket(.stream).flatMap { fd in
                var r: Result<Void, Errno> = .success(())
                if reuseAddress { r = stack.setOption(fd, .soReuseAddr, 1) }
                r = r.flatMap { stack.bind(fd, address: address, port: port) }.flatMap {
                    stack.listen(fd, backlog: backlog)
                }
                if case .failure(let e) = r {
                    _ = stack.close(fd, into: &effects)
                    return .failure(e)
                }
                return .success(fd)
            }
        }.get()
    }

    /// `accept(2)`: the next completed connection. Waits until one arrives or `timeout` (nil:
    /// without limit; zero: not at all) passes, then fails with `EAGAIN`.
    public func accept(timeout: Duration? = nil) throws(Errno) -> StreamSocket {
        let fd = fd
        let r = try host.callRetryingWhileBlocked(
            fd: fd,
            awaiting: .readable,
            timeout: timeout.map(DatagramSocket.nanoseconds)
        ) {
            stack,
            effects in stack.accept(fd, into: &effects)
        }.get()
        return StreamSocket(host: host, fd: r.fd)
    }

    /// `getsockname(2)`: the address and port it listens on.
    public func localAddress() throws(Errno) -> (address: IPv4Address, port: UInt16) {
        let fd = fd
        return try host.perform { stack, _ in stack.localAddress(fd) }.get()
    }

    /// `close(2)`: stops listening; connections not yet accepted are reset.
    public func close() throws(Errno) {
        let fd = fd
        try host.perform { stack, effects in stack.close(fd, into: &effects) }.get()
    }
}
