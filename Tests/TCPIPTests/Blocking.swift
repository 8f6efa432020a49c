import Foundation

/// Runs blocking socket calls off the cooperative pool: Swift Testing runs tests on it (two
/// threads on a two-core machine), and a blocked pool thread would stall every other test.
enum Blocking {
    /// Runs `body` on a new thread and resumes with its result; nothing of the pool waits.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = "tcpip-test-blocking"
            thread.start()
        }
    }

    /// Runs `body` on a new thread and returns its result with the seconds it took, measured on
    /// that thread: unlike a time taken around the `await`, it does not include waiting for a
    /// cooperative thread to resume the test (CPU-bound suites running in parallel can keep
    /// both busy for many seconds on a two-core machine).
    static func timed<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> (T, Double) {
        try await run { () throws -> (T, Double) in
            let start = ContinuousClock.now
            let value = try body()
            return (value, seconds(since: start))
        }
    }

    /// Starts `body` on a new thread now; await the returned task for its result.
    static func start<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> Task<T, any Error> {
        Task { try await run(body) }
    }

    /// Sleeps without holding a pool thread.
    static func pause(_ duration: Duration) async {
        try? await Task.sleep(for: duration)
    }

    /// Seconds elapsed since `start` on the continuous clock.
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
