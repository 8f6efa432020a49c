import Foundation
import Glibc
import TCPIPCore
import Testing

@testable import TCPIPDrivers

@Suite struct EventLoopPrimitivesTests {
    @Test func timeoutsRoundUpToMilliseconds() {
        #expect(Poller.milliseconds(forTimeout: nil) == -1)
        #expect(Poller.milliseconds(forTimeout: 0) == 0)
        #expect(Poller.milliseconds(forTimeout: -5) == 0)
        #expect(Poller.milliseconds(forTimeout: 1) == 1)
        #expect(Poller.milliseconds(forTimeout: 1_000_000) == 1)
        #expect(Poller.milliseconds(forTimeout: 1_000_001) == 2)
        #expect(Poller.milliseconds(forTimeout: 2_999_999) == 3)
        #expect(Poller.milliseconds(forTimeout: .max) == .max)
    }

    @Test func eventFDWakesThePoller() throws {
        let event = try EventFD()
        var poller = Poller(fds: [event.fd])
        poller.add(event.fd)
        #expect(poller.fds == [event.fd])
        #expect(try poller.wait(timeout: 0) == 0)
        #expect(!poller.isReadable(event.fd))

        event.signal()
        event.signal()
        #expect(try poller.wait(timeout: nil) == 1)
        #expect(poller.isReadable(event.fd))
        #expect(poller.readable == [event.fd])
        #expect(event.drain() == 2)
        #expect(event.drain() == 0)
        #expect(try poller.wait(timeout: 0) == 0)
        poller.remove(event.fd)
        #expect(poller.fds.isEmpty)
    }

    @Test func signalFromAnotherThreadWakesAWaitWithoutTimeout() throws {
        let event = try EventFD()
        // A plain thread, not a task: the test's own thread blocks in poll, and the test
        // runner's few threads may all be busy.
        let signaller = Thread {
            usleep(5_000)
            event.signal()
        }
        signaller.start()
        var poller = Poller(fds: [event.fd])
        #expect(try poller.wait(timeout: 10_000_000_000) == 1)
        #expect(event.drain() == 1)
    }

    @Test func aWaitNeverEndsBeforeItsTimeout() throws {
        let event = try EventFD()
        var poller = Poller(fds: [event.fd])
        for timeout: Int64 in [1, 1_500_000, 3_000_000] {
            let start = MonotonicClock.now()
            #expect(try poller.wait(timeout: timeout) == 0)
            #expect(MonotonicClock.now().nanoseconds(since: start) >= timeout)
        }
    }

    @Test func monotonicClockAdvancesAndEpochOffsetIsWallClock() {
        let a = MonotonicClock.now()
        let b = MonotonicClock.now()
        #expect(b >= a)
        let wall = a.nanoseconds &+ MonotonicClock.epochOffsetNanoseconds()
        #expect(wall > 1_600_000_000 * 1_000_000_000)  // after September 2020
    }

    @Test func systemEntropyDiffersBetweenCalls() {
        let seeds = Set((0..<8).map { _ in SystemEntropy.seed() })
        #expect(seeds.count == 8)
    }
}
