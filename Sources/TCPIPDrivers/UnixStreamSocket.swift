import Glibc

// MARK: - System calls

extension Syscall {
    /// `socket(AF_UNIX, SOCK_STREAM)` + `bind` + `listen` on `path`, non-blocking and
    /// close-on-exec. A stale socket file at `path` is removed first; any other kind of file
    /// there fails with `EEXIST`, so a typo never deletes a user's file.
    static func unixListen(path: String, backlog: Int32) throws(SyscallError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else { throw SyscallError(code: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }

        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else { throw SyscallError(code: EEXIST) }
            if Glibc.unlink(path) != 0 && errno != ENOENT { throw .current }
        }

        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        if fd < 0 { throw .current }
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        if fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0 || bound != 0
            || Glibc.listen(fd, backlog) != 0
        {
            let error = SyscallError.current
            close(fd)
            throw error
        }
        return fd
    }

    /// `accept(2)` of one pending connection, made close-on-exec (it is blocking: Linux does
    /// not pass the listener's `O_NONBLOCK` on); nil when none is pending (`EAGAIN`) or the
    /// peer gave up before we took it (`ECONNABORTED`).
    static func accept(_ fd: Int32) throws(SyscallError) -> Int32? {
        while true {
            let client = Glibc.accept(fd, nil, nil)
            if client >= 0 {
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                return client
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, ECONNABORTED: return nil
            default: throw .current
            }
        }
    }

    /// `send(2)` with `MSG_NOSIGNAL`, so a peer that went away gives `EPIPE`, never `SIGPIPE`.
    static func send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(SyscallError) -> Int {
        while true {
            let n = Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return n }
            if errno != EINTR { throw .current }
        }
    }

    /// `shutdown(2)` of both directions; errors (e.g. `ENOTCONN`) are ignored.
    static func shutdownBoth(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    /// `unlink(2)`; errors are ignored.
    static func unlink(_ path: String) {
        _ = Glibc.unlink(path)
    }
}

// MARK: - Listener

/// A listening Unix stream socket (`AF_UNIX`, `SOCK_STREAM`) bound to a path, for the control
/// server. Its descriptor is non-blocking: wait for it with a `Poller`, then `accept()`.
///
/// `Sendable` so it can be handed to the thread that accepts; that thread should also be the
/// one that calls `close()`.
public final class UnixStreamListener: @unchecked Sendable {
    /// The socket's path in the file system.
    public let path: String
    /// The listening descriptor, or -1 once closed.
    public private(set) var fd: Int32

    /// Listens on `path`, removing a stale socket file there first. Fails when `path` is too
    /// long for `sun_path`, names a file that is not a socket (`EEXIST`), or cannot be bound.
    public init(path: String, backlog: Int32 = 64) throws(DriverError) {
        do {
            fd = try Syscall.unixListen(path: path, backlog: backlog)
        } catch {
            let hint: String? =
                switch error.code {
                case EEXIST: "the path exists and is not a socket"
                case ENAMETOOLONG: "a Unix socket path holds at most 107 bytes"
                default: nil
                }
            throw DriverError(device: path, operation: "cannot listen on Unix socket", code: error.code, hint: hint)
        }
        self.path = path
    }

    deinit { close() }

    /// Takes one pending connection; nil when none is pending.
    public func accept() throws(DriverError) -> UnixStreamConnection? {
        do {
            return try Syscall.accept(fd).map { UnixStreamConnection(fd: $0) }
        } catch {
            throw DriverError(device: path, operation: "accept failed", code: error.code)
        }
    }

    /// Closes the descriptor and removes the socket file. Calling it again does nothing.
    public func close() {
        guard fd >= 0 else { return }
        Syscall.close(fd)
        fd = -1
        Syscall.unlink(path)
    }
}

// MARK: - Connection

/// One accepted connection of a `UnixStreamListener`: blocking reads and writes.
///
/// One thread reads, writes and closes it; any thread may call `shutdown()` to make a blocked
/// `read` return end-of-file (as long as the connection has not been closed).
public final class UnixStreamConnection: @unchecked Sendable {
    /// The connection's descriptor, or -1 once closed.
    public private(set) var fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit { close() }

    /// Reads what has arrived into `buffer` (up to its count), blocking until something has;
    /// returns the byte count, 0 at end of file.
    public func read(into buffer: inout [UInt8]) throws(DriverError) -> Int {
        let fd = fd
        let result: Result<Int, SyscallError> = buffer.withUnsafeMutableBytes { bytes in
            while true {
                do throws(SyscallError) {
                    if let n = try Syscall.read(fd, into: bytes) { return .success(n) }
                } catch {
                    return .failure(error)
                }
            }
        }
        do {
            return try result.get()
        } catch {
            throw DriverError(device: "control connection", operation: "read failed", code: error.code)
        }
    }

    /// Writes every byte of `bytes` (several `send`s if the socket buffer fills). A closed peer
    /// fails with `EPIPE`; no `SIGPIPE` is raised.
    public func writeAll(_ bytes: [UInt8]) throws(DriverError) {
        let fd = fd
        let result: Result<Void, SyscallError> = bytes.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                do throws(SyscallError) {
                    let n = try Syscall.send(fd, UnsafeRawBufferPointer(rebasing: all[offset...]))
                    if n == 0 { return .failure(SyscallError(code: EPIPE)) }
                    offset += n
                } catch {
                    return .failure(error)
                }
            }
            return .success(())
        }
        do {
            try result.get()
        } catch {
            throw DriverError(device: "control connection", operation: "write failed", code: error.code)
        }
    }

    /// Shuts down both directions: a blocked `read` returns end of file and the peer sees it.
    public func shutdown() {
        guard fd >= 0 else { return }
        Syscall.shutdownBoth(fd)
    }

    /// Closes the descriptor. Calling it again does nothing.
    public func close() {
        guard fd >= 0 else { return }
        Syscall.close(fd)
        fd = -1
    }
}
