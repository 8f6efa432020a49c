import Foundation
import Testing

@testable import TCPIP
@testable import TCPIPCore
@testable import TCPIPDrivers

/// The HTTP server's limits (`HTTPServerLimits`) against clients that never finish: a head
/// trickled in (slowloris), a connection that never sends, a head that is too large. Host A
/// runs the server with short timeouts; host B is the client, over the in-memory device pair.
@Suite(.timeLimit(.minutes(1)))
struct HTTPServerApplicationTests {
    static let port: UInt16 = 8080

    /// A head trickled in a field at a time gets 408 once `headerTimeout` has passed since
    /// its first byte, however steadily it trickles, and the connection is closed.
    @Test func aTrickledHeadGets408AfterTheHeaderTimeout() async throws {
        let limits = HTTPServerLimits(headerTimeout: 300_000_000, idleTimeout: 10_000_000_000)
        try await Self.withServer(limits: limits) { hosts, app in
            let client = try await Self.connect(hosts.b)
            let (answer, took) = try await Blocking.timed { () throws -> [UInt8] in
                try client.write(Array("GET / HTTP/1.1\r\nHost: a\r\n".utf8))
                // A field every 50 ms, never the empty line: far more often than the idle
                // timeout, for far longer than the header timeout.
                for i in 0..<100 {
                    do { try client.write(Array("X-Slow-\(i): yes\r\n".utf8)) } catch { break }
                    let got = try? client.read(max: 65536, timeout: .milliseconds(50))
                    if let got, !got.isEmpty { return got + (try Self.readToEnd(client)) }
                }
                return []
            }
            let text = String(decoding: answer, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "\(text.prefix(80))")
            #expect(text.contains("Connection: close\r\n"))
            #expect(took >= 0.29 && took < 20, "408 after \(took) s")
            #expect(Self.drops(hosts.a, app, "header_timeout") == 1)
            #expect(Self.drops(hosts.a, app, "idle_timeout") == 0)
            // Once the client closes too, the connection is gone.
            try? client.close()
            #expect(await Self.eventually { hosts.a.perform { _, _ in app.openConnections } == 0 })
        }
    }

    /// A head that trickles in a byte at a time, but within the header timeout, is served.
    @Test func aHeadTrickledByteByByteWithinTheTimeoutIsServed() async throws {
        try await Self.withServer(limits: HTTPServerLimits()) { hosts, _ in
            let client = try await Self.connect(hosts.b)
            let answer = try await Blocking.run { () throws -> [UInt8] in
                try client.setOption(.tcpNoDelay, 1)
                for byte in Array("GET /bytes/4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8) {
                    try client.write([byte])
                }
                return try Self.readToEnd(client)
            }
            let text = String(decoding: answer, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(text.prefix(80))")
            #expect(answer.suffix(4) == (0..<4).map { HTTPServerApplication.patternByte(at: Int64($0)) })
            try? client.close()
        }
    }

    /// A connection that sends nothing, or nothing more after a response, is closed once it
    /// has made no progress for `idleTimeout`, without a response.
    @Test func aSilentConnectionIsClosedAfterTheIdleTimeout() async throws {
        let limits = HTTPServerLimits(headerTimeout: 10_000_000_000, idleTimeout: 300_000_000)
        try await Self.withServer(limits: limits) { hosts, app in
            // Timed from before the handshake: the idle clock starts at the accept.
            let b = hosts.b
            let ((silent, bytes), took) = try await Blocking.timed { () throws -> (StreamSocket, [UInt8]) in
                let s = try StreamSocket.connect(
                    host: b,
                    address: HostPair.addressA,
                    port: Self.port,
                    timeout: .seconds(5)
                )
                return (s, try Self.readToEnd(s))
            }
            #expect(bytes.isEmpty, "closed without a response: \(String(decoding: bytes, as: UTF8.self))")
            #expect(took >= 0.29 && took < 20, "closed after \(took) s")

            // Kept alive after a response, then silent: closed too.
            let kept = try await Self.connect(hosts.b)
            let (answer, keptFor) = try await Blocking.timed { () throws -> [UInt8] in
                try kept.write(Array("GET /bytes/10 HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
                return try Self.readToEnd(kept)
            }
            let text = String(decoding: answer, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(text.prefix(80))")
            #expect(!text.contains("Connection: close"))
            #expect(keptFor >= 0.29 && keptFor < 20, "kept alive for \(keptFor) s")
            #expect(Self.drops(hosts.a, app, "idle_timeout") == 2)
            try? silent.close()
            try? kept.close()
        }
    }

    /// A head over `maxHeadBytes` gets 431 and the connection is closed; one just under it is
    /// served. The counters reach `stats` through the control protocol.
    @Test func aHeadOverTheLimitGets431() async throws {
        try await Self.withServer(limits: HTTPServerLimits()) { hosts, app in
            let within = try await Self.connect(hosts.b)
            let fits = Self.request(fieldBytes: 15 * 1024)
            let ok = try await Blocking.run { () throws -> [UInt8] in
                try within.write(fits)
                return try within.read(max: 65536, timeout: .seconds(10))
            }
            #expect(String(decoding: ok, as: UTF8.self).hasPrefix("HTTP/1.1 200 OK\r\n"))

            let over = try await Self.connect(hosts.b)
            let answer = try await Blocking.run { () throws -> [UInt8] in
                // Written as it fits: the server reads no further than the limit.
                _ = try? over.send(Self.request(fieldBytes: 64 * 1024), timeout: .seconds(5))
                return try Self.readToEnd(over)
            }
            let text = String(decoding: answer, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "\(text.prefix(80))")
            #expect(text.contains("Connection: close\r\n"))
            #expect(Self.drops(hosts.a, app, "head_too_large") == 1)

            // `stats` over the control protocol carries the section.
            var template = Array("/tmp/tcpip-http-XXXXXX".utf8CString)
            let directory = String(cString: try #require(mkdtemp(&template)))
            let path = directory + "/control.sock"
            defer {
                unlink(path)
                rmdir(directory)
            }
            let server = try ControlServer(host: hosts.a, path: path)
            server.start()
            defer { server.stop() }
            let control = try ControlLineClient(path: path)
            let stats = try await ControlServerTests.call(control, ["op": "stats"])
            let http = stats["http"] as? [String: Any]
            #expect((http?["drops"] as? [String: Any])?["head_too_large"] as? Int == 1, "\(stats["http"] ?? "none")")
            #expect((http?["responses"] as? Int ?? 0) >= 1)
            try? within.close()
            try? over.close()
        }
    }

    // MARK: - Helpers

    /// `GET /` with one field of about `fieldBytes` bytes.
    static func request(fieldBytes: Int) -> [UInt8] {
        Array("GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "a", count: fieldBytes))\r\n\r\n".utf8)
    }

    /// Reads until the end of the stream or a reset (at most 20 s).
    static func readToEnd(_ socket: StreamSocket) throws -> [UInt8] {
        var bytes: [UInt8] = []
        let start = ContinuousClock.now
        while Blocking.seconds(since: start) < 20 {
            let chunk: [UInt8]
            do {
                chunk = try socket.read(max: 65536, timeout: .seconds(1))
            } catch {
                if error == .EAGAIN { continue }
                break
            }
            if chunk.isEmpty { break }
            bytes += chunk
        }
        return bytes
    }

    static func connect(_ host: Host) async throws -> StreamSocket {
        try await Blocking.run {
            try StreamSocket.connect(host: host, address: HostPair.addressA, port: port, timeout: .seconds(5))
        }
    }

    /// The server's count of a drop reason, read on A's owner thread.
    static func drops(_ host: Host, _ app: HTTPServerApplication, _ reason: String) -> UInt64? {
        host.perform { _, _ in app.statistics.drop(reason) }
    }

    static func eventually(_ condition: () -> Bool) async -> Bool {
        await ControlLimitsTests.eventually(condition)
    }

    /// Two hosts over an in-memory pair, A running an HTTP server with `limits` on `port`;
    /// both stopped afterwards.
    static func withServer(
        limits: HTTPServerLimits,
        _ body: ((a: Host, b: Host), HTTPServerApplication) async throws -> Void
    ) async throws {
        let (deviceA, deviceB) = try MemoryDevice.pair(names: ("memA", "memB"))
        let a = try Host(
            configuration: HostPair.configuration(0, faults: .none, pcapPath: nil) { _, _ in },
            device: deviceA
        )
        let b = try Host(
            configuration: HostPair.configuration(1, faults: .none, pcapPath: nil) { _, _ in },
            device: deviceB
        )
        let app = HTTPServerApplication(port: port, limits: limits)
        a.add(app)
        try a.start()
        try b.start()
        do {
            try await body((a, b), app)
        } catch {
            _ = try? await Blocking.run {
                a.stop()
                b.stop()
            }
            throw error
        }
        _ = try? await Blocking.run {
            a.stop()
            b.stop()
        }
    }
}
