import Foundation
import Testing

@testable import TCPIP
@testable import TCPIPCore

/// `StreamSocket` and `StreamListener`'s blocking calls between two hosts over the in-memory
/// device pair.
@Suite(.timeLimit(.minutes(1)))
struct StreamSocketTests {
    @Test func connectAcceptWriteReadClose() async throws {
        try await HostPair.with { pair in
            let listener = try StreamListener(host: pair.b, port: 8000)
            let accepted = Blocking.start { try listener.accept(timeout: .seconds(5)) }
            let client = try await Blocking.run {
                try StreamSocket.connect(host: pair.a, address: HostPair.addressB, port: 8000, timeout: .seconds(5))
            }
            let server = try await accepted.value
            #expect(try server.remoteAddress().address == HostPair.addressA)
            #expect(try client.remoteAddress() == (HostPair.addressB, 8000))
            #expect(try client.info().state == .established)

            let request = Array("GET / HTTP/1.0\r\n\r\n".utf8)
            try client.write(request)
            let got = try await Blocking.run { try Self.read(server, count: request.count) }
            #expect(got == request)

            // A transfer larger than the windows and buffers, echoed back.
            let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let echo = Blocking.start {
                var total = 0
                while total < payload.count {
                    let chunk = try server.read(timeout: .seconds(5))
                    if chunk.isEmpty { break }
                    try server.write(chunk)
                    total += chunk.count
                }
                return total
            }
            let sending = Blocking.start { try client.write(payload) }
            let back = try await Blocking.run { try Self.read(client, count: payload.count) }
            try await sending.value
            #expect(try await echo.value == payload.count)
            #expect(back == payload)

            // close: the peer reads the end of the stream.
            try client.close()
            let end = try await Blocking.run { try server.read(timeout: .seconds(5)) }
            #expect(end.isEmpty)
            try server.close()
            try listener.close()
        }
    }

    @Test func connectToAPortNobodyListensOnFailsWithECONNREFUSED() async throws {
        try await HostPair.with { pair in
            let (outcome, took) = try await Blocking.timed { () -> Errno? in
                do throws(Errno) {
                    _ = try StreamSocket.connect(
                        host: pair.a,
                        address: HostPair.addressB,
                        port: 8001,
                        timeout: .seconds(5)
                    )
                    return nil
                } catch {
                    return error
                }
            }
            #expect(outcome == .ECONNREFUSED)
            // At once, not at the 5 s timeout (loose: sanitizer builds beside other suites).
            #expect(took < 4)
        }
    }

    @Test func readWithATimeoutFailsWithEAGAINAfterAboutThatTime() async throws {
        try await HostPair.with { pair in
            let (client, server) = try await Self.connectedPair(pair, port: 8002)
            let (outcome, took) = try await Blocking.timed { () -> Errno? in
                do throws(Errno) {
                    _ = try client.read(timeout: .milliseconds(250))
                    return nil
                } catch {
                    return error
                }
            }
            #expect(outcome == .EAGAIN)
            #expect(took >= 0.24, "returned after \(took) s, before its timeout")
            #expect(took < 2, "returned after \(took) s")
            // The connection is still usable afterwards.
            try server.write([1, 2, 3])
            #expect(try await Blocking.run { try Self.read(client, count: 3) } == [1, 2, 3])
            try client.close()
            try server.close()
        }
    }

    @Test func acceptWithATimeoutFailsWithEAGAIN() async throws {
        try await HostPair.with { pair in
            let listener = try StreamListener(host: pair.b, port: 8003)
            let outcome = try await Blocking.run { () -> Errno? in
                do throws(Errno) {
                    _ = try listener.accept(timeout: .milliseconds(100))
                    return nil
                } catch {
                    return error
                }
            }
            #expect(outcome == .EAGAIN)
            try listener.close()
        }
    }

    /// The socket-identity rule for streams: a socket connecting to an address nobody answers
    /// ARP for is closed at once, and a new socket, which gets the same descriptor, connects to
    /// B and waits to read across the time ARP gives up on the first one's SYN. Its read must
    /// time out (nothing was sent to it) rather than fail with the first one's `EHOSTUNREACH`,
    /// and the connection must still carry data.
    @Test func aClosedSocketsEventsNeverCompleteACallOnTheSocketReusingItsDescriptor() async throws {
        try await HostPair.with(shortARP: true) { pair in
            try await pair.resolveNeighbors()
            do {
                let listener = try StreamListener(host: pair.b, port: 8004)
                let first = try StreamSocket(host: pair.a)
                let started = Result { () throws(Errno) in
                    try first.connect(address: HostPair.silentAddress, port: 80, timeout: .zero)
                }
                #expect(started.failureName == "EINPROGRESS")
                try first.close()

                let accepted = Blocking.start { try listener.accept(timeout: .seconds(5)) }
                let second = try await Blocking.run {
                    try StreamSocket.connect(host: pair.a, address: HostPair.addressB, port: 8004, timeout: .seconds(5))
                }
                #expect(second.fd == first.fd, "the descriptor should be reused")
                let server = try await accepted.value
                let read = try await Blocking.run { () -> Result<[UInt8], Errno> in
                    Result { () throws(Errno) in try second.read(timeout: HostPair.arpGiveUp * 4) }
                }
                let pending = try second.takeError()
                #expect(read == .failure(.EAGAIN), "the wait must time out, not end with the old socket's error")
                #expect(pending == nil)
                try server.write(Array("still here".utf8))
                let later = try await Blocking.run { () -> Result<[UInt8], Errno> in
                    Result { () throws(Errno) in try second.read(timeout: .seconds(5)) }
                }
                #expect(later == .success(Array("still here".utf8)))
                try second.close()
                try server.close()
                try listener.close()
            }
        }
    }

    // MARK: - Helpers

    /// A connection from A to B's `port`: (A's end, B's end).
    static func connectedPair(_ pair: HostPair, port: UInt16) async throws -> (StreamSocket, StreamSocket) {
        let listener = try StreamListener(host: pair.b, port: port)
        let accepted = Blocking.start { try listener.accept(timeout: .seconds(5)) }
        let client = try await Blocking.run {
            try StreamSocket.connect(host: pair.a, address: HostPair.addressB, port: port, timeout: .seconds(5))
        }
        let server = try await accepted.value
        try listener.close()
        return (client, server)
    }

    /// Reads exactly `count` bytes (fewer at the end of the stream), each read bounded.
    static func read(_ socket: StreamSocket, count: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < count {
            let chunk = try socket.read(max: count - bytes.count, timeout: .seconds(5))
            if chunk.isEmpty { break }
            bytes += chunk
        }
        return bytes
    }
}
