import TCPIPCore

/// A TCP connection of a `Host` for async/await code.
///
/// Every call is queued to the host's owner thread with `Host.submit` and resumes when it
/// completes there: no thread — of the cooperative pool or any other — waits meanwhile, so
/// thousands of connections can wait at once. Cancelling the task ends a waiting call with
/// `ECANCELED` (the connection itself stays as it was).
///
/// Errors are the `Errno` a Linux program would see from the same call. An object dropped
/// without `close()` leaves its socket open in the stack.
///
/// ```swift
/// let c = try await AsyncConnection.connect(host: host, address: IPv4Address("10.99.0.1")!, port: 8000)
/// try await c.write(Array("GET / HTTP/1.0\r\n\r\n".utf8))
/// for try await chunk in c.bytes { print(String(decoding: chunk, as: UTF8.self)) }
/// try await c.close()
/// ```
public final class AsyncConnection: Sendable {
    /// The host whose stack holds the socket.
    public let host: Host
    /// The socket's descriptor in the stack.
    public let fd: Int32

    /// A connection for a descriptor the stack already holds.
    public init(host: Host, fd: Int32) {
        self.host = host
        self.fd = fd
    }

    /// Opens a socket and connects it to `address:port` (RFC 9293 §3.5), returning once the
    /// handshake has completed. Fails with `ECONNREFUSED` on a RST, `ETIMEDOUT` when the SYNs
    /// go unanswered or `timeout` (nil: without limit) passes first, `ECANCELED` when the task
    /// is cancelled; the socket is closed again on failure.
    public static func connect(
        host: Host,
        address: IPv4Address,
        port: UInt16,
        timeout: Duration? = nil
    ) async throws(Errno) -> AsyncConnection {
        let fd = try await host.performAsync { stack, effects in
            stack.socket(.stream).flatMap { fd in
                StreamOperations.startConnect(fd: fd, address: address, port: port)(&stack, &effects)!.map { _ in fd }
                    .mapError { e in
                        _ = stack.close(fd, into: &effects)
                        return e
                    }
            }
        }.get()
        let outcome = await host.callAsync(
            socket: fd,
            timeout: timeout.map(DatagramSocket.nanoseconds),
            StreamOperations.connectOutcome(fd: fd, address: address, port: port)
        )
        let result =
            outcome
            ?? .failure(Task.isCancelled ? Host.interrupted : .ETIMEDOUT.with("no connection within the timeout"))
        if case .failure(let e) = result {
            // Abandon the attempt; a connection that failed has nothing left to send.
            _ = try? await host.performAsync { stack, effects in
                _ = stack.setOption(fd, .soLinger, 0)
                return stack.close(fd, into: &effects)
            }
            throw e
        }
        return AsyncConnection(host: host, fd: fd)
    }

    /// Writes every byte of `bytes`, waiting for room in the send buffer as often as needed.
    /// On a failure (`EPIPE`, `ECONNRESET`, `ECANCELED`, …) the bytes before it have been
    /// handed to TCP.
    public func write(_ bytes: [UInt8]) async throws(Errno) {
        guard let r = await host.callAsync(socket: fd, timeout: nil, StreamOperations.sendAll(fd: fd, bytes)) else {
            throw Host.interrupted
        }
        try r.get()
    }

    /// Up to `max` bytes (at least 1) of what has arrived; empty at the end of the stream.
    /// Waits until something has arrived. After a reset the bytes received before it are still
    /// read, then one call fails with `ECONNRESET`, and later ones return the end.
    public func read(max: Int = 65536) async throws(Errno) -> [UInt8] {
        guard max > 0 else { throw Errno.EINVAL.with("read needs max > 0") }
        let fd = fd
        return try await host.blockingAsync(fd: fd, awaiting: .readable, timeout: nil) { stack, effects in
            stack.receive(fd, max: max, into: &effects)
        }.get().bytes
    }

    /// `recv(2)` into the caller's memory: copies up to `buffer.count` bytes (at least 1) of
    /// what has arrived into `buffer` and returns the count; 0 at the end of the stream. Waits
    /// as `read(max:)` does, allocating no array. `buffer` must stay valid until the call
    /// returns (also when it ends by cancellation: the owner thread is then done with it).
    public func read(into buffer: UnsafeMutableRawBufferPointer) async throws(Errno) -> Int {
        guard buffer.count > 0 else { throw Errno.EINVAL.with("read needs a non-empty buffer") }
        let fd = fd
        let lent = LentBuffer(buffer)
        return try await host.blockingAsync(fd: fd, awaiting: .readable, timeout: nil) { stack, effects in
            stack.receive(fd, to: lent.buffer, into: &effects)
        }.get().count
    }

    /// The bytes the peer sends, in chunks as they arrive, up to the end of the stream; a
    /// reset ends the sequence by throwing `ECONNRESET`.
    public var bytes: Chunks { Chunks(connection: self, chunkSize: 65536) }

    /// The same, in chunks of at most `chunkSize` bytes.
    public func bytes(chunkSize: Int) -> Chunks { Chunks(connection: self, chunkSize: Swift.max(1, chunkSize)) }

    /// `shutdown(2)`: `.write` sends our FIN once the queued data is out; `.read` makes
    /// further reads return the end of the stream.
    public func shutdown(_ how: ShutdownHow = .write) async throws(Errno) {
        let fd = fd
        try await host.performAsync { stack, effects in stack.shutdown(fd, how: how, into: &effects) }.get()
    }

    /// `close(2)`: frees the descriptor; the connection closes with a FIN after the queued
    /// data, unless received data was left unread or `SO_LINGER` is 0 (a RST). With a positive
    /// `SO_LINGER` it returns once our FIN is acknowledged or that many seconds pass.
    public func close() async throws(Errno) {
        guard let step = await host.callAsync(timeout: nil, StreamOperations.startClose(fd: fd)) else {
            throw Host.interrupted
        }
        if case .linger(let seconds, let id) = try step.get() {
            _ = await host.callAsync(
                socket: fd,
                timeout: Int64(Swift.min(seconds, 1 << 30)) * 1_000_000_000,
                StreamOperations.lingerOver(id)
            )
            // Finish even when cancelled: the descriptor must not leak.
            let done = await host.callAsync(timeout: nil, cancellable: false, StreamOperations.finishClose(id))
            try (done ?? .success(())).get()
        }
    }

    /// `setsockopt(2)`: booleans as 0/1; `SO_LINGER` in seconds, nil for off.
    public func setOption(_ option: SocketOption, _ value: Int?) async throws(Errno) {
        let fd = fd
        try await host.performAsync { stack, _ in stack.setOption(fd, option, value) }.get()
    }

    /// `getsockopt(2)`: the effective value (nil: `SO_LINGER` off).
    public func option(_ option: SocketOption) async throws(Errno) -> Int? {
        let fd = fd
        return try await host.performAsync { stack, _ in stack.option(fd, option) }.get()
    }

    /// `getsockname(2)`.
    public func localAddress() async throws(Errno) -> (address: IPv4Address, port: UInt16) {
        let fd = fd
        return try await host.performAsync { stack, _ in stack.localAddress(fd) }.get()
    }

    /// `getpeername(2)`.
    public func remoteAddress() async throws(Errno) -> (address: IPv4Address, port: UInt16) {
        let fd = fd
        return try await host.performAsync { stack, _ in stack.remoteAddress(fd) }.get()
    }

    /// The connection's control block.
    public func info() async throws(Errno) -> TCPInfo {
        let fd = fd
        guard let info = try await host.performAsync({ stack, _ in stack.tcpInfo(fd) }).get() else {
            throw Errno.EBADF.with("descriptor \(fd) is not a stream socket")
        }
        return info
    }

    /// The bytes a connection receives, as an `AsyncSequence` of chunks that ends at the end
    /// of the stream. Each iteration reads from the connection; iterate it once.
    public struct Chunks: AsyncSequence, Sendable {
        public typealias Element = [UInt8]
        public typealias Failure = Errno

        let connection: AsyncConnection
        let chunkSize: Int

        public func makeAsyncIterator() -> Iterator { Iterator(connection: connection, chunkSize: chunkSize) }

        /// Reads the next chunk on each `next()`.
        public struct Iterator: AsyncIteratorProtocol, Sendable {
            let connection: AsyncConnection
            let chunkSize: Int
            var finished = false

            /// The next chunk; nil at the end of the stream (and after an error was thrown).
            public mutating func next() async throws(Errno) -> [UInt8]? {
                guard !finished else { return nil }
                do {
                    let chunk = try await connection.read(max: chunkSize)
                    if chunk.isEmpty {
                        finished = true
                        return nil
                    }
                    return chunk
                } catch {
                    finished = true
                    throw error
                }
            }

            public mutating func next(isolation actor: isolated (any Actor)?) async throws(Errno) -> [UInt8]? {
                try await next()
            }
        }
    }
}

/// A listening TCP socket of a `Host` for async/await code: `accept()` resumes when a
/// connection has completed its handshake, with no thread waiting meanwhile.
///
/// ```swift
/// let listener = try await AsyncListener.listen(host: host, port: 8080)
/// while true {
///     let c = try await listener.accept()
///     Task {
///         for try await chunk in c.bytes { try await c.write(chunk) }   // echo
///         try await c.close()
///     }
/// }
/// ```
public final class AsyncListener: Sendable {
    /// The host whose stack holds the socket.
    public let host: Host
    /// The listening socket's descriptor in the stack.
    public let fd: Int32

    init(host: Host, fd: Int32) {
        self.host = host
        self.fd = fd
    }

    /// `socket` + `bind` + `listen(2)` on `address:port` (port 0: an ephemeral port, see
    /// `localAddress()`), with room for `backlog` completed connections. Fails with
    /// `EADDRINUSE` when the port is taken (`reuseAddress`: `SO_REUSEADDR`).
    public static func listen(
        host: Host,
        address: IPv4Address = .any,
        port: UInt16,
        backlog: Int = 128,
        reuseAddress: Bool = false
    ) async throws(Errno) -> AsyncListener {
        let fd = try await host.performAsync { stack, effects -> Result<Int32, Errno> in
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
        return AsyncListener(host: host, fd: fd)
    }

    /// The next completed connection; waits for one. `ECANCELED` when the task is cancelled.
    public func accept() async throws(Errno) -> AsyncConnection {
        let fd = fd
        let r = try await host.blockingAsync(fd: fd, awaiting: .readable, timeout: nil) { stack, effects in
            stack.accept(fd, into: &effects).map { $0.fd }
        }.get()
        return AsyncConnection(host: host, fd: r)
    }

    /// `getsockname(2)`: the address and port it listens on.
    public func localAddress() async throws(Errno) -> (address: IPv4Address, port: UInt16) {
        let fd = fd
        return try await host.performAsync { stack, _ in stack.localAddress(fd) }.get()
    }

    /// `close(2)`: stops listening; connections not yet accepted are reset.
    public func close() async throws(Errno) {
        let fd = fd
        try await host.performAsync { stack, effects in stack.close(fd, into: &effects) }.get()
    }
}
