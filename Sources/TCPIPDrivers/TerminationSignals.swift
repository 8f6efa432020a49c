import Glibc

// MARK: - System calls

extension Syscall {
    /// A signal set holding `signals`.
    static func signalSet(_ signals: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        return set
    }

    /// `pthread_sigmask(SIG_BLOCK)` of `signals` on the calling thread (threads started later
    /// inherit the mask).
    static func blockSignals(_ signals: [Int32]) {
        var set = signalSet(signals)
        let rc = pthread_sigmask(SIG_BLOCK, &set, nil)
        precondition(rc == 0, "pthread_sigmask failed: \(rc)")
    }

    /// `sigwait(3)` for one of `signals` (which must be blocked); returns the signal.
    static func waitForSignal(_ signals: [Int32]) -> Int32 {
        var set = signalSet(signals)
        while true {
            var received: Int32 = 0
            if sigwait(&set, &received) == 0 { return received }
        }
    }

    /// `sigtimedwait(2)` for one of `signals` (which must be blocked), at most `nanoseconds`;
    /// nil when none arrived in that time.
    static func waitForSignal(_ signals: [Int32], nanoseconds: Int64) -> Int32? {
        var set = signalSet(signals)
        let ns = max(0, nanoseconds)
        var timeout = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
        let s = sigtimedwait(&set, nil, &timeout)
        // -1 with EAGAIN: the time passed; with EINTR: another signal's handler ran (the
        // remaining time is not reported, so the caller re-checks its own deadline).
        return s > 0 ? s : nil
    }

    /// `signal(SIGPIPE, SIG_IGN)`.
    static func ignoreBrokenPipe() {
        _ = signal(SIGPIPE, SIG_IGN)
    }
}

// MARK: - Termination signals

/// `SIGINT` and `SIGTERM`, taken synchronously: block them before any thread starts, then
/// `wait()` for them on one thread (the main thread), so no handler runs at an arbitrary point
/// and no other thread is killed by them.
public enum TerminationSignals {
    static let signals = [SIGINT, SIGTERM]

    /// Blocks `SIGINT` and `SIGTERM` on the calling thread and, by inheritance, on every thread
    /// it starts afterwards. Call first thing on the main thread. Also ignores `SIGPIPE`, so a
    /// closed output pipe is a write error rather than death.
    public static func block() {
        Syscall.blockSignals(signals)
        Syscall.ignoreBrokenPipe()
    }

    /// Waits until `SIGINT` or `SIGTERM` arrives; returns its number.
    public static func wait() -> Int32 {
        Syscall.waitForSignal(signals)
    }

    /// Waits at most `nanoseconds` for `SIGINT` or `SIGTERM`; returns its number, or nil when
    /// none arrived (the wait may end early; check your own deadline).
    public static func wait(nanoseconds: Int64) -> Int32? {
        Syscall.waitForSignal(signals, nanoseconds: nanoseconds)
    }

    /// `"SIGINT"`, `"SIGTERM"` or `"signal N"`.
    public static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(signal)"
        }
    }
}
