import CTunTap
import Glibc

/// A wake-up signal for an event loop: other threads `signal()`, the loop's `Poller` sees the
/// descriptor become readable, and the loop `drain()`s it.
///
/// Safe to signal from any thread. The descriptor is closed when the last reference goes away.
public final class EventFD: Sendable {
    /// The eventfd descriptor (non-blocking, close-on-exec).
    public let fd: Int32

    /// Creates an eventfd with a count of zero.
    public init() throws(DriverError) {
        do {
            fd = try Syscall.eventfd(flags: Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        } catch {
            throw DriverError(device: "eventfd", operation: "cannot create", code: error.code)
        }
    }

    deinit { Syscall.close(fd) }

    /// Makes the descriptor readable until the next `drain()`. Never blocks; signals that
    /// arrive before the loop drains coalesce into one wake-up.
    public func signal() {
        var one: UInt64 = 1
        // EAGAIN means the counter is saturated: the loop is going to wake anyway.
        _ = withUnsafeBytes(of: &one) { try? Syscall.write(fd, $0) }
    }

    /// Resets the count so the descriptor is no longer readable; returns how many signals
    /// arrived since the last drain (0 if none).
    @discardableResult
    public func drain() -> UInt64 {
        var count: UInt64 = 0
        let n = withUnsafeMutableBytes(of: &count) { try? Syscall.read(fd, into: $0) }
        return n == 8 ? count : 0
    }
}
