import Glibc
import TCPIPCore

/// The system's monotonic clock: where real runs get the `Instant`s they feed the stack.
///
/// This and `SystemEntropy` are the only places the project reads a clock or entropy.
public enum MonotonicClock {
    /// Now, from `clock_gettime(CLOCK_MONOTONIC)`: nanoseconds since boot, never going back.
    public static func now() -> Instant {
        Instant(nanoseconds: Syscall.clockNanoseconds(CLOCK_MONOTONIC))
    }

    /// Nanoseconds to add to a monotonic `Instant` to get nanoseconds since the Unix epoch
    /// (`CLOCK_REALTIME` minus `CLOCK_MONOTONIC`, read now): give it to `PcapWriter` so
    /// captures show wall-clock times.
    public static func epochOffsetNanoseconds() -> Int64 {
        let realtime = Syscall.clockNanoseconds(CLOCK_REALTIME)
        let monotonic = Syscall.clockNanoseconds(CLOCK_MONOTONIC)
        return realtime &- monotonic
    }
}
