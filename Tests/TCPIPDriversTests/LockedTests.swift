import Foundation
import Testing

@testable import TCPIPDrivers

@Suite struct LockedTests {
    /// Four threads add to one counter 10,000 times each under the lock: no update is lost
    /// (and under `--sanitize=thread`, no race is reported).
    @Test func concurrentUpdatesUnderTheLockAreNeverLost() {
        let counter = Locked(0)
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                for _ in 0..<10_000 { counter.withLock { $0 += 1 } }
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 30) == .success)
        #expect(counter.withLock { $0 } == 40_000)
    }

    struct Refused: Error, Equatable {}

    /// A body's typed error comes out of `withLock` as is, the lock released and the value
    /// as the body left it.
    @Test func aThrowingBodyReleasesTheLock() {
        let box = Locked([1])
        #expect(throws: Refused()) {
            try box.withLock { (v: inout [Int]) throws(Refused) in
                v.append(2)
                throw Refused()
            }
        }
        #expect(box.withLock { $0 } == [1, 2])
    }
}
