import Foundation
import Testing

@testable import TCPIP
@testable import TCPIPCore

/// `AsyncConnection` and `AsyncListener` between two hosts over the in-memory device pair: no
/// thread waits while a call does.
@Suite(.timeLimit(.minutes(1)))
struct AsyncConnectionTests {
    @Test func anEchoServerOverForTryAwaitBytes() async throws {
        try await HostPair.with { pair in
            let listener = try await AsyncListener.listen(host: pair.b, port: 7000)
            let server = Task {
                let c = try await listener.accept()
                var echoed = 0
                for try await chunk in c.bytes {
                    try await c.write(chunk)
                    echoed += chunk.count
                }
                try await c.close()
                return echoed
            }
            let c = try await AsyncConnection.connect(
                host: pair.a,
                address: HostPair.addressB,
                port: 7000,
                timeout: .seconds(5)
            )
            #expect(try await c.remoteAddress() == (HostPair.addressB, 7000))
            let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            try await c.write(payload)
            try await c.shutdown(.write)
            var back: [UInt8] = []
            for try await chunk in c.bytes(chunkSize: 4096) {
                #expect(chunk.count <= 4096)
                back += chunk
            }
            #expect(back == payload)
            #expect(try await server.value == payload.count)
            try await c.close()
            try await listener.close()
        }
    }

    @Test func connectToAPortNobodyListensOnFailsWithECONNREFUSED() async throws {
        try await HostPair.with { pair in
            await #expect(throws: Errno.ECONNREFUSED) {
                _ = try await AsyncConnection.connect(
                    host: pair.a,
                    address: HostPair.addressB,
                    port: 7001,
                    timeout: .seconds(5)
                )
            }
        }
    }

    @Test func connectWithATimeoutToASilentAddressFailsWithETIMEDOUT() async throws {
        // ARP keeps asking for the silent address far longer than the timeout (10 requests a
        // minute apart), so its failure cannot come first even if the cooperative pool, busy
        // with CPU-bound suites, is slow to resume this task between its steps.
        let slowARP: (Int, inout HostConfiguration) -> Void = { _, c in c.stack.arpRetryInterval = 60_000_000_000 }
        try await HostPair.with(configure: slowARP) { pair in
            let start = ContinuousClock.now
            await #expect(throws: Errno.ETIMEDOUT) {
                _ = try await AsyncConnection.connect(
                    host: pair.a,
                    address: HostPair.silentAddress,
                    port: 80,
                    timeout: .milliseconds(200)
                )
            }
            let took = Blocking.seconds(since: start)
            // The upper bound allows for a saturated cooperative pool; the timeout's own accuracy
            // is checked by the blocking tests, measured on their threads.
            #expect(took >= 0.19 && took < 30, "took \(took) s")
        }
    }

    /// A task cancelled while it awaits a read that nothing will complete ends promptly with
    /// `ECANCELED`, and the connection stays usable.
    @Test func cancellingATaskAwaitingAReadEndsItPromptly() async throws {
        try await HostPair.with { pair in
            let listener = try await AsyncListener.listen(host: pair.b, port: 7002)
            async let accepted = listener.accept()
            let c = try await AsyncConnection.connect(
                host: pair.a,
                address: HostPair.addressB,
                port: 7002,
                timeout: .seconds(5)
            )
            let server = try await accepted
            let reader = Task { () -> Result<[UInt8], Errno> in
                do throws(Errno) {
                    return .success(try await c.read())
                } catch {
                    return .failure(error)
                }
            }
            await Blocking.pause(.milliseconds(100))
            let start = ContinuousClock.now
            reader.cancel()
            let outcome = await reader.value
            let took = Blocking.seconds(since: start)
            #expect(outcome.failureName == "ECANCELED")
            #expect(took < 30, "the cancelled read took \(took) s to end")
            // The connection is as it was.
            try await server.write([42])
            #expect(try await c.read() == [42])
            try await c.close()
            try await server.close()
            try await listener.close()
        }
    }

    /// Cancelling before the call starts ends it at once too.
    @Test func aReadInAnAlreadyCancelledTaskEndsAtOnce() async throws {
        try await HostPair.with { pair in
            let listener = try await AsyncListener.listen(host: pair.b, port: 7003)
            async let accepted = listener.accept()
            let c = try await AsyncConnection.connect(host: pair.a, address: HostPair.addressB, port: 7003)
            let server = try await accepted
            let reader = Task { () -> String? in
                withUnsafeCurrentTask { $0?.cancel() }
                do throws(Errno) {
                    _ = try await c.read()
                    return nil
                } catch {
                    return error.name
                }
            }
            #expect(await reader.value == "ECANCELED")
            try await c.close()
            try await server.close()
            try await listener.close()
        }
    }
}

extension Result where Failure == Errno {
    /// The error's POSIX name; nil on success.
    var failureName: String? {
        if case .failure(let e) = self { return e.name }
        return nil
    }
}
