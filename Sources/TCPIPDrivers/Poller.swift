import Glibc

/// Waits with `poll(2)` until one of a set of descriptors is readable or a timeout passes.
///
/// Register the descriptors once with `add(_:)`; each `wait` reuses the same `pollfd` array,
/// so waiting allocates nothing. Owned by one thread.
public struct Poller: Sendable {
    private var descriptors: [pollfd] = []

    /// Creates a poller watching `fds` for readability.
    public init(fds: [Int32] = []) {
        for fd in fds { add(fd) }
    }

    /// The descriptors being watched, in the order they were added.
    public var fds: [Int32] { descriptors.map(\.fd) }

    /// Watches `fd` for readability (does nothing if it is already watched).
    public mutating func add(_ fd: Int32) {
        guard !descriptors.contains(where: { $0.fd == fd }) else { return }
        descriptors.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
    }

    /// Stops watching `fd`.
    public mutating func remove(_ fd: Int32) {
        descriptors.removeAll { $0.fd == fd }
    }

    /// Blocks until a watched descriptor is readable or `timeout` nanoseconds pass (`nil`:
    /// no timeout; zero or negative: just check). Returns how many descriptors are ready,
    /// 0 on timeout or when a signal interrupted the wait; then ask `isReadable(_:)`.
    ///
    /// The timeout is rounded up to whole milliseconds, so the wait never ends before a
    /// deadline computed from it.
    public mutating func wait(timeout nanoseconds: Int64?) throws(DriverError) -> Int {
        for i in descriptors.indices { descriptors[i].revents = 0 }
        let milliseconds = Self.milliseconds(forTimeout: nanoseconds)
        do {
            return try descriptors.withUnsafeMutableBufferPointer { (fds) throws(SyscallError) -> Int in
                try Syscall.poll(fds, timeoutMilliseconds: milliseconds)
            }
        } catch {
            throw DriverError(device: "poll", operation: "wait failed", code: error.code)
        }
    }

    /// Whether the last `wait` found `fd` readable. Errors and hang-ups count as readable:
    /// the next read reports them.
    public func isReadable(_ fd: Int32) -> Bool {
        let ready = Int16(POLLIN | POLLERR | POLLHUP | POLLNVAL)
        return descriptors.contains { $0.fd == fd && $0.revents & ready != 0 }
    }

    /// The descriptors the last `wait` found readable.
    public var readable: [Int32] {
        descriptors.filter { isReadable($0.fd) }.map(\.fd)
    }

    /// `poll(2)`'s timeout for a wait of `nanoseconds`: -1 for `nil` (forever), 0 for zero or
    /// less, otherwise the nanoseconds rounded up to milliseconds, at most `Int32.max`.
    public static func milliseconds(forTimeout nanoseconds: Int64?) -> Int32 {
        guard let nanoseconds else { return -1 }
        guard nanoseconds > 0 else { return 0 }
        let ms = nanoseconds / 1_000_000 + (nanoseconds % 1_000_000 == 0 ? 0 : 1)
        return Int32(clamping: ms)
    }
}
