import Foundation
import Testing

@testable import TCPIP
@testable import TCPIPCore
@testable import TCPIPDrivers

/// What calls do around `Host.stop`: a call blocked when the host stops ends; a call made
/// after it still answers (nothing is sent) instead of trapping; and a thread whose blocked
/// call a stop ended can make its next blocking call on another host.
@Suite(.timeLimit(.minutes(1)))
struct HostStopTests {
    @Test func callsAfterStopAnswerWithoutSending() async throws {
        let pair = try HostPair()
        let socket = try DatagramSocket(host: pair.a)
        let stream = try StreamSocket(host: pair.a)
        await pair.stop()
        try await Blocking.run {
            // A datagram to nowhere: the call answers; the device is no longer driven.
            _ = try? socket.sendTo(Array("late".utf8), address: HostPair.addressB, port: 9)
            try socket.close()
            try stream.close()
            #expect(throws: Errno.EBADF) { try socket.close() }
        }
    }

    /// A stop ends the blocking call of thread T with a deadline; T's reused waiter then
    /// waits without a deadline on another host and completes there — the waiter keeps no
    /// index into the stopped host's tables.
    @Test func aThreadsWaiterIsReusedCleanlyAfterAStop() async throws {
        let first = try HostPair()
        let second = try HostPair()
        try await second.resolveNeighbors()
        let onFirst = try DatagramSocket(host: first.a)
        try onFirst.bind(port: 9300)
        let onSecond = try DatagramSocket(host: second.a)
        try onSecond.bind(port: 9301)
        let stopped = Locked(false)
        let outcome = Blocking.start { () -> [UInt8] in
            // Ended by the stop: a timeout-like failure, whatever its errno.
            _ = try? onFirst.receiveFrom(timeout: .seconds(20))
            stopped.withLock { $0 = true }
            return try onSecond.receiveFrom(timeout: nil).bytes
        }
        await Blocking.pause(.milliseconds(100))
        await first.stop()
        for _ in 0..<100 where !stopped.withLock({ $0 }) { await Blocking.pause(.milliseconds(10)) }
        #expect(stopped.withLock { $0 })
        // Another waiter with a deadline on the second host, parked beside T's.
        let other = try DatagramSocket(host: second.a)
        try other.bind(port: 9302)
        let timed = Blocking.start { try? other.receiveFrom(timeout: .milliseconds(300)) }
        await Blocking.pause(.milliseconds(50))
        let sender = try DatagramSocket(host: second.b)
        try sender.sendTo(Array("after the stop".utf8), address: HostPair.addressA, port: 9301)
        #expect(try await outcome.value == Array("after the stop".utf8))
        // The deadline of the other waiter still fires (the heap was not corrupted).
        let started = ContinuousClock.now
        #expect(try await timed.value == nil)
        #expect(Blocking.seconds(since: started) < 30)
        await second.stop()
    }
}
