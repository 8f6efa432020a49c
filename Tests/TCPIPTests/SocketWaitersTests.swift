import Foundation
import Testing

@testable import TCPIP
@testable import TCPIPCore
@testable import TCPIPDrivers

/// The runtime's wait mechanism (`SocketWaiters`): a blocked call waits on its own socket's
/// events, ends with `EBADF` when its socket is closed, a poll waits on each of its sockets,
/// and many waits on different sockets all complete.
@Suite(.timeLimit(.minutes(1)))
struct SocketWaitersTests {
    /// The calls parked on `host`'s owner thread now.
    static func parked(_ host: Host) -> Int { host.perform { _, _ in host.waiters.parked.count } }

    /// The attempts `host` made after events so far.
    static func retries(_ host: Host) -> Int { host.perform { _, _ in host.retries } }

    /// A bound datagram socket of `host`.
    static func bound(_ host: Host, port: UInt16) throws -> DatagramSocket {
        let socket = try DatagramSocket(host: host)
        try socket.bind(port: port)
        return socket
    }

    @Test func aWaiterOnOneSocketIsNotRetriedByEventsOfAnother() async throws {
        try await HostPair.with { pair in
            try await pair.resolveNeighbors()
            let x = try Self.bound(pair.b, port: 9200)
            let y = try Self.bound(pair.b, port: 9201)
            let sender = try DatagramSocket(host: pair.a)
            let waiting = Blocking.start { try x.receiveFrom(timeout: .seconds(20)) }
            await Blocking.pause(.milliseconds(100))
            let before = Self.retries(pair.b)
            // Twenty events on Y, read without waiting (so Y parks no call of its own).
            for i in 0..<20 { try sender.sendTo([UInt8(i)], address: HostPair.addressB, port: 9201) }
            var got = 0
            for _ in 0..<200 where got < 20 {
                while (try? y.receiveFrom(timeout: .zero)) != nil { got += 1 }
                if got < 20 { await Blocking.pause(.milliseconds(10)) }
            }
            #expect(got == 20)
            #expect(Self.retries(pair.b) == before, "Y's events retried a call waiting on X")
            try sender.sendTo([42], address: HostPair.addressB, port: 9200)
            #expect(try await waiting.value.bytes == [42])
            #expect(Self.retries(pair.b) > before)
        }
    }

    /// The behaviour we chose over Linux's (where the `recv` keeps blocking): closing a socket
    /// from another thread ends the call blocked on it with `EBADF`.
    @Test func closingAStreamSocketFromAnotherThreadEndsItsBlockedReadWithEBADF() async throws {
        try await HostPair.with { pair in
            let (client, server) = try await StreamSocketTests.connectedPair(pair, port: 8200)
            let reader = Blocking.start { () -> Result<[UInt8], Errno> in
                Result { () throws(Errno) in try client.read(timeout: .seconds(20)) }
            }
            await Blocking.pause(.milliseconds(100))
            let start = ContinuousClock.now
            try client.close()
            let outcome = try await reader.value
            #expect(outcome.failureName == "EBADF")
            #expect(Blocking.seconds(since: start) < 30)
            try server.close()
        }
    }

    /// The blocked call never reaches the socket that reuses the descriptor, even when that
    /// socket is opened in the same turn of the owner thread as the close and has data at once.
    @Test func aWaiterOfAClosedSocketNeverGetsTheResultsOfItsSuccessor() async throws {
        try await HostPair.with { pair in
            try await pair.resolveNeighbors()
            let old = try Self.bound(pair.b, port: 9210)
            let reader = Blocking.start { () -> Result<ReceivedDatagram, Errno> in
                Result { () throws(Errno) in try old.receiveFrom(timeout: .seconds(20)) }
            }
            // The reader must be parked on the old socket before the close: a call that starts
            // after the reopen names the new socket by its number, as POSIX would.
            for _ in 0..<500 where Self.parked(pair.b) == 0 { await Blocking.pause(.milliseconds(10)) }
            #expect(Self.parked(pair.b) == 1)
            let fd = old.fd
            let reopened = pair.b.perform { stack, effects -> Result<Int32, Errno> in
                _ = stack.close(fd, into: &effects)
                return stack.socket(.dgram).flatMap { n in stack.bind(n, address: .any, port: 9210).map { n } }
            }
            #expect(try reopened.get() == fd, "the descriptor should be reused")
            let sender = try DatagramSocket(host: pair.a)
            try sender.sendTo([7], address: HostPair.addressB, port: 9210)
            let outcome = try await reader.value
            #expect(outcome.map(\.bytes).failureName == "EBADF")
            let successor = try await Blocking.run {
                pair.b.call(socket: fd, timeout: 5_000_000_000) { stack, _ -> Result<[UInt8], Errno>? in
                    let r = stack.receiveFrom(fd, max: 100).map(\.bytes)
                    return r == .failure(.EAGAIN) ? nil : r
                }
            }
            #expect(successor == .success([7]))
            _ = pair.b.perform { stack, effects in stack.close(fd, into: &effects) }
        }
    }

    @Test func closingAnAsyncConnectionEndsItsPendingReadWithEBADF() async throws {
        try await HostPair.with { pair in
            let listener = try await AsyncListener.listen(host: pair.b, port: 7200)
            async let accepted = listener.accept()
            let c = try await AsyncConnection.connect(host: pair.a, address: HostPair.addressB, port: 7200)
            let server = try await accepted
            let reader = Task { () -> String? in
                do throws(Errno) {
                    _ = try await c.read()
                    return nil
                } catch {
                    return error.name
                }
            }
            await Blocking.pause(.milliseconds(100))
            try await c.close()
            #expect(await reader.value == "EBADF")
            try await server.close()
            try await listener.close()
        }
    }

    @Test func aPollOverTwoSocketsWakesOnEither() async throws {
        try await HostPair.with { pair in
            try await pair.resolveNeighbors()
            let x = try Self.bound(pair.b, port: 9220)
            let y = try Self.bound(pair.b, port: 9221)
            let sender = try DatagramSocket(host: pair.a)
            let fds = [x.fd, y.fd]
            let poll: @Sendable () -> Result<[Int32], Errno>? = {
                pair.b.call(sockets: fds, timeout: 20_000_000_000) { stack, _ -> Result<[Int32], Errno>? in
                    let ready = fds.filter { stack.readiness($0)?.contains(.readable) == true }
                    return ready.isEmpty ? nil : .success(ready)
                }
            }
            for (socket, port) in [(y, UInt16(9221)), (x, UInt16(9220))] {
                let polling = Blocking.start { poll() }
                await Blocking.pause(.milliseconds(100))
                try sender.sendTo([1], address: HostPair.addressB, port: port)
                #expect(try await polling.value == .success([socket.fd]))
                _ = try socket.receiveFrom(timeout: .seconds(5))
            }
        }
    }

    /// Forty-eight calls blocked on forty-eight sockets at once: the half that get a datagram
    /// complete with their own, the other half time out on their own deadlines.
    @Test func manyConcurrentBlockedCallsOnDifferentSocketsAllComplete() async throws {
        try await HostPair.with { pair in
            try await pair.resolveNeighbors()
            let count = 48
            let sockets = try (0..<count).map { try Self.bound(pair.b, port: 9300 + UInt16($0)) }
            let calls = sockets.enumerated().map { i, socket in
                Blocking.start { () -> Result<[UInt8], Errno> in
                    let timeout: Duration = i.isMultiple(of: 2) ? .seconds(20) : .milliseconds(300 + 10 * i)
                    return Result { () throws(Errno) in try socket.receiveFrom(timeout: timeout).bytes }
                }
            }
            await Blocking.pause(.milliseconds(200))
            let sender = try DatagramSocket(host: pair.a)
            for i in stride(from: 0, to: count, by: 2) {
                try sender.sendTo([UInt8(i)], address: HostPair.addressB, port: 9300 + UInt16(i))
            }
            for (i, call) in calls.enumerated() {
                let outcome = try await call.value
                #expect(outcome == (i.isMultiple(of: 2) ? .success([UInt8(i)]) : .failure(.EAGAIN)), "call \(i)")
            }
            for socket in sockets { try socket.close() }
        }
    }

    @Test func cancellingASubmittedSocketCallCompletesItWithNilOnce() async throws {
        try await HostPair.with { pair in
            let x = try Self.bound(pair.b, port: 9230)
            let fd = x.fd
            let completions = Locked(0)
            let value = await withCheckedContinuation { (c: CheckedContinuation<Result<Int, Errno>?, Never>) in
                let call = pair.b.submit(
                    socket: fd,
                    timeout: nil,
                    attempt: { stack, _ in stack.readiness(fd)?.contains(.readable) == true ? .success(1) : nil },
                    completion: { v in
                        completions.withLock { $0 += 1 }
                        c.resume(returning: v)
                    }
                )
                call.cancel()
                call.cancel()
            }
            #expect(value == nil)
            await Blocking.pause(.milliseconds(50))
            #expect(completions.withLock { $0 } == 1)
            try x.close()
        }
    }

    /// The allocation-free read: a reused buffer, filled in place.
    @Test func readIntoAReusedBufferFillsItInPlace() async throws {
        try await HostPair.with { pair in
            let (client, server) = try await StreamSocketTests.connectedPair(pair, port: 8201)
            try client.write(Array("hello, buffer".utf8))
            let got = try await Blocking.run { () -> [UInt8] in
                var buffer = [UInt8](repeating: 0, count: 5)
                var all: [UInt8] = []
                while all.count < 13 {
                    let n = try server.read(into: &buffer, timeout: .seconds(5))
                    if n == 0 { break }
                    all += buffer[..<n]
                }
                return all
            }
            #expect(got == Array("hello, buffer".utf8))
            try client.close()
            try server.close()
        }
    }
}
