import Glibc

extension Syscall {
    /// `send(2)` with `MSG_DONTWAIT | MSG_NOSIGNAL`: what the socket buffer takes now (0 when
    /// it is full); a peer that went away gives `EPIPE`, never `SIGPIPE`.
    static func sendNow(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(SyscallError) -> Int {
        while true {
            let n = Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN: return 0
            default: throw .current
            }
        }
    }
}

/// What `UnixStreamConnection.wait(writable:timeout:)` found.
public struct UnixStreamReadiness: Sendable, Equatable {
    /// Bytes (or end of file, or an error) wait to be read.
    public var readable: Bool
    /// The socket buffer has room for more bytes.
    public var writable: Bool
}

extension UnixStreamConnection {
    /// Hands the socket buffer as much of `bytes` as it takes now, without waiting; returns the
    /// count taken (0 when the buffer is full). A closed peer fails with `EPIPE`; no `SIGPIPE`
    /// is raised.
    public func sendAvailable(_ bytes: UnsafeRawBufferPointer) throws(DriverError) -> Int {
        guard !bytes.isEmpty else { return 0 }
        do {
            return try Syscall.sendNow(fd, bytes)
        } catch {
            throw DriverError(device: "control connection", operation: "write failed", code: error.code)
        }
    }

    /// Waits until, with `readable`, the connection is readable — bytes or end of file wait —
    /// or, with `writable`, its socket buffer has room, or an error or hang-up is pending (which
    /// counts as readable), or `timeout` nanoseconds pass (nil: no limit). A signal ends the
    /// wait early with nothing ready.
    public func wait(
        readable: Bool = true,
        writable: Bool,
        timeout: Int64?
    ) throws(DriverError) -> UnixStreamReadiness {
        let events = (readable ? Int16(POLLIN) : 0) | (writable ? Int16(POLLOUT) : 0)
        var entry = pollfd(fd: fd, events: events, revents: 0)
        do {
            _ = try withUnsafeMutablePointer(to: &entry) { (p) throws(SyscallError) -> Int in
                try Syscall.poll(
                    UnsafeMutableBufferPointer(start: p, count: 1),
                    timeoutMilliseconds: Poller.milliseconds(forTimeout: timeout)
                )
            }
        } catch {
            throw DriverError(device: "control connection", operation: "poll failed", code: error.code)
        }
        let broken = Int16(POLLERR | POLLHUP | POLLNVAL)
        return UnixStreamReadiness(
            readable: entry.revents & (Int16(POLLIN) | broken) != 0,
            writable: entry.revents & Int16(POLLOUT) != 0
        )
    }
}
