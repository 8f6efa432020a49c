import Foundation
import Testing

@testable import TCPIP
@testable import TCPIPCore

/// The control server (CONTROL-PROTOCOL.md) on host A, driven with JSON lines over its Unix
/// socket, against host B over the in-memory device pair. Each test listens in a directory of
/// its own under /tmp, removed afterwards.
@Suite(.timeLimit(.minutes(1)))
struct ControlServerTests {
    @Test func aStreamConnectionDrivenThroughTheControlProtocol() async throws {
        try await Self.withServer { pair, path in
            let client = try ControlLineClient(path: path)
            let hello = try await Self.call(client, ["op": "hello"])
            #expect(hello["ok"] as? Bool == true)
            #expect(hello["name"] as? String == "swift-tcpip")

            // A listens through the control protocol; B connects with the blocking API.
            let fd = try #require(try await Self.call(client, ["op": "socket", "type": "stream"])["fd"] as? Int)
            #expect(fd >= 3)
            try await Self.ok(client, ["op": "bind", "fd": fd, "port": 6000])
            try await Self.ok(client, ["op": "listen", "fd": fd, "backlog": 4])
            let peer = Blocking.start {
                try StreamSocket.connect(host: pair.b, address: HostPair.addressA, port: 6000, timeout: .seconds(5))
            }
            let accepted = try await Self.call(client, ["op": "accept", "fd": fd, "timeout_ms": 5000])
            #expect(accepted["ok"] as? Bool == true, "\(accepted)")
            #expect(accepted["address"] as? String == "10.0.0.2")
            let conn = try #require(accepted["fd"] as? Int)
            let b = try await peer.value

            // poll before anything arrives: only "out".
            let writable = try await Self.call(client, ["op": "poll", "fds": [conn], "events": ["in", "out"]])
            #expect(Self.events(writable, conn) == ["out"])

            let sent = try await Self.call(
                client,
                ["op": "send", "fd": conn, "data": Data("ping".utf8).base64EncodedString()]
            )
            #expect(sent["bytes"] as? Int == 4)
            #expect(try await Blocking.run { try StreamSocketTests.read(b, count: 4) } == Array("ping".utf8))

            try b.write(Array("pong".utf8))
            let ready = try await Self.call(
                client,
                ["op": "poll", "fds": [conn], "events": ["in"], "timeout_ms": 5000]
            )
            #expect(Self.events(ready, conn) == ["in"])
            let got = try await Self.call(client, ["op": "recv", "fd": conn, "max": 100, "timeout_ms": 5000])
            #expect(got["data"] as? String == Data("pong".utf8).base64EncodedString())
            #expect(got["eof"] as? Bool == false)

            // B closes: recv reads the end of the stream.
            try b.close()
            let end = try await Self.call(client, ["op": "recv", "fd": conn, "max": 100, "timeout_ms": 5000])
            #expect(end["eof"] as? Bool == true, "\(end)")
            try await Self.ok(client, ["op": "close", "fd": conn])
            try await Self.ok(client, ["op": "close", "fd": fd])
            let closed = try await Self.call(client, ["op": "close", "fd": fd])
            #expect(closed["error"] as? String == "EBADF")
        }
    }

    @Test func aDatagramExchangeDrivenThroughTheControlProtocol() async throws {
        try await Self.withServer { pair, path in
            let client = try ControlLineClient(path: path)
            let fd = try #require(try await Self.call(client, ["op": "socket", "type": "dgram"])["fd"] as? Int)
            try await Self.ok(client, ["op": "bind", "fd": fd, "port": 6001])
            let b = try DatagramSocket(host: pair.b)
            try b.bind(port: 6002)
            let atB = Blocking.start { try b.receiveFrom(timeout: .seconds(5)) }
            let sent = try await Self.call(
                client,
                [
                    "op": "sendto", "fd": fd, "data": Data([1, 2, 3]).base64EncodedString(),
                    "address": "10.0.0.2", "port": 6002,
                ]
            )
            #expect(sent["bytes"] as? Int == 3)
            let datagram = try await atB.value
            #expect(datagram.bytes == [1, 2, 3])
            #expect(datagram.port == 6001)
            try b.sendTo([4, 5], address: HostPair.addressA, port: 6001)
            let got = try await Self.call(client, ["op": "recvfrom", "fd": fd, "max": 10, "timeout_ms": 5000])
            #expect(got["data"] as? String == Data([4, 5]).base64EncodedString())
            #expect(got["address"] as? String == "10.0.0.2")
            #expect(got["port"] as? Int == 6002)
            try await Self.ok(client, ["op": "close", "fd": fd])
        }
    }

    /// `timeout_ms` bounds every blocking call: `recv` and `accept` fail with `EAGAIN` after
    /// about that long, `poll` answers with nothing ready, `connect` to a port nobody listens
    /// on fails with `ECONNREFUSED`.
    @Test func callsWithTimeoutMsEndAfterAboutThatTime() async throws {
        try await Self.withServer { _, path in
            let client = try ControlLineClient(path: path)
            let fd = try #require(try await Self.call(client, ["op": "socket", "type": "dgram"])["fd"] as? Int)
            try await Self.ok(client, ["op": "bind", "fd": fd, "port": 6003])

            var start = ContinuousClock.now
            let recv = try await Self.call(client, ["op": "recvfrom", "fd": fd, "max": 10, "timeout_ms": 200])
            var took = Blocking.seconds(since: start)
            #expect(recv["error"] as? String == "EAGAIN", "\(recv)")
            #expect(took >= 0.19 && took < 30, "recvfrom took \(took) s")

            start = ContinuousClock.now
            let poll = try await Self.call(client, ["op": "poll", "fds": [fd], "events": ["in"], "timeout_ms": 150])
            took = Blocking.seconds(since: start)
            #expect((poll["ready"] as? [Any])?.isEmpty == true, "\(poll)")
            #expect(took >= 0.14 && took < 30, "poll took \(took) s")

            let nonBlocking = try await Self.call(client, ["op": "recvfrom", "fd": fd, "max": 10, "timeout_ms": 0])
            #expect(nonBlocking["error"] as? String == "EAGAIN")

            let listener = try #require(try await Self.call(client, ["op": "socket", "type": "stream"])["fd"] as? Int)
            try await Self.ok(client, ["op": "bind", "fd": listener, "port": 6004])
            try await Self.ok(client, ["op": "listen", "fd": listener])
            start = ContinuousClock.now
            let accept = try await Self.call(client, ["op": "accept", "fd": listener, "timeout_ms": 100])
            took = Blocking.seconds(since: start)
            #expect(accept["error"] as? String == "EAGAIN", "\(accept)")
            #expect(took >= 0.09 && took < 30, "accept took \(took) s")

            let s = try #require(try await Self.call(client, ["op": "socket", "type": "stream"])["fd"] as? Int)
            let refused = try await Self.call(
                client,
                ["op": "connect", "fd": s, "address": "10.0.0.2", "port": 6005, "timeout_ms": 5000]
            )
            #expect(refused["error"] as? String == "ECONNREFUSED", "\(refused)")
        }
    }

    /// A call blocked on one control connection delays no other.
    @Test func aBlockedCallOnOneConnectionDelaysNoOther() async throws {
        try await Self.withServer { _, path in
            let waiting = try ControlLineClient(path: path)
            let other = try ControlLineClient(path: path)
            let fd = try #require(try await Self.call(waiting, ["op": "socket", "type": "dgram"])["fd"] as? Int)
            try await Self.ok(waiting, ["op": "bind", "fd": fd, "port": 6006])
            let blocked = Task {
                try await Self.call(waiting, ["op": "recvfrom", "fd": fd, "max": 10, "timeout_ms": 1500])["error"]
                    as? String
            }
            await Blocking.pause(.milliseconds(50))
            let start = ContinuousClock.now
            let hello = try await Self.call(other, ["op": "hello"])
            #expect(hello["ok"] as? Bool == true)
            #expect(Blocking.seconds(since: start) < 30)  // a saturated cooperative pool may delay the test
            #expect(try await blocked.value == "EAGAIN")
        }
    }

    /// A call blocked on a descriptor that another client closes ends at once with `EBADF`
    /// (the runtime's close semantics, `Host.call(socket:…)`), never with the results of the
    /// socket that reuses the number: `recvfrom`, `accept` and `poll` alike.
    @Test func aCallBlockedOnADescriptorAnotherClientClosesFailsWithEBADF() async throws {
        try await Self.withServer { _, path in
            let waiting = try ControlLineClient(path: path)
            let closing = try ControlLineClient(path: path)
            let datagram = try #require(try await Self.call(closing, ["op": "socket", "type": "dgram"])["fd"] as? Int)
            try await Self.ok(closing, ["op": "bind", "fd": datagram, "port": 6010])
            let listener = try #require(try await Self.call(closing, ["op": "socket", "type": "stream"])["fd"] as? Int)
            try await Self.ok(closing, ["op": "bind", "fd": listener, "port": 6011])
            try await Self.ok(closing, ["op": "listen", "fd": listener])
            let blocking: [[String: Any]] = [
                ["op": "recvfrom", "fd": datagram, "max": 10, "timeout_ms": 20000],
                ["op": "accept", "fd": listener, "timeout_ms": 20000],
                ["op": "poll", "fds": [datagram, listener], "events": ["in"], "timeout_ms": 20000],
            ]
            for request in blocking {
                let fd = request["fd"] as? Int ?? datagram
                let line = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
                let blocked = Blocking.start { () throws -> (String, Double) in
                    let start = ContinuousClock.now
                    let answer = try waiting.exchange(line)
                    return (answer, Blocking.seconds(since: start))
                }
                await Blocking.pause(.milliseconds(100))
                try await Self.ok(closing, ["op": "close", "fd": fd])
                // The number comes back at once, for a socket of the other kind.
                let reused = try await Self.call(
                    closing,
                    ["op": "socket", "type": fd == datagram ? "stream" : "dgram"]
                )
                #expect(reused["fd"] as? Int == fd)
                let (answer, took) = try await blocked.value
                #expect(answer.contains("\"error\":\"EBADF\""), "\(request["op"] ?? "?"): \(answer)")
                #expect(took < 15, "\(request["op"] ?? "?") waited \(took) s after the close")
                // Back to what the next call expects.
                try await Self.ok(closing, ["op": "close", "fd": fd])
                if fd == datagram {
                    let again = try #require(
                        try await Self.call(closing, ["op": "socket", "type": "dgram"])["fd"] as? Int
                    )
                    #expect(again == datagram)
                    try await Self.ok(closing, ["op": "bind", "fd": datagram, "port": 6010])
                } else {
                    let again = try #require(
                        try await Self.call(closing, ["op": "socket", "type": "stream"])["fd"] as? Int
                    )
                    #expect(again == listener)
                    try await Self.ok(closing, ["op": "bind", "fd": listener, "port": 6011])
                    try await Self.ok(closing, ["op": "listen", "fd": listener])
                }
            }
        }
    }

    @Test func malformedLinesAndUnknownOpsLeaveTheConnectionUsable() async throws {
        try await Self.withServer { _, path in
            let client = try ControlLineClient(path: path)
            let garbage = try await Blocking.run { try client.exchange("not json") }
            #expect(garbage.contains("\"EPROTO\""))
            let unknown = try await Self.call(client, ["op": "frobnicate"])
            #expect(unknown["error"] as? String == "EOPNOTSUPP")
            let missing = try await Self.call(client, ["op": "bind"])
            #expect(missing["error"] as? String == "EINVAL")
            #expect(try await Self.call(client, ["op": "hello"])["ok"] as? Bool == true)
        }
    }

    // MARK: - Helpers

    /// A started host pair with a control server for A on a fresh path, all stopped and
    /// removed afterwards.
    static func withServer(_ body: (HostPair, String) async throws -> Void) async throws {
        try await withServer(limits: ControlLimits()) { pair, path, _ in try await body(pair, path) }
    }

    /// A started host pair with a control server for A keeping `limits`, listening in a
    /// directory of the test's own under /tmp; the server, the hosts and the directory are
    /// stopped and removed afterwards.
    static func withServer(
        limits: ControlLimits,
        trace: (@Sendable (ControlEvent) -> Void)? = nil,
        _ body: (HostPair, String, ControlServer) async throws -> Void
    ) async throws {
        var template = Array("/tmp/tcpip-control-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ControlTestError("mkdtemp failed: errno \(errno)") }
        let directory = String(cString: made)
        let path = directory + "/control.sock"
        defer {
            unlink(path)
            rmdir(directory)
        }
        try await HostPair.with { pair in
            let server = try ControlServer(host: pair.a, path: path, limits: limits, trace: trace)
            server.start()
            do {
                try await body(pair, path, server)
            } catch {
                _ = try? await Blocking.run { server.stop() }
                throw error
            }
            _ = try? await Blocking.run { server.stop() }
        }
        #expect(access(path, F_OK) != 0, "the socket file should be gone")
    }

    static func call(_ client: ControlLineClient, _ request: [String: Any]) async throws -> [String: Any] {
        let line = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        let response = try await Blocking.run { try client.exchange(line) }
        guard let object = try JSONSerialization.jsonObject(with: Data(response.utf8)) as? [String: Any] else {
            throw ControlTestError("not a JSON object: \(response)")
        }
        return object
    }

    /// Makes the call and expects `"ok": true`.
    static func ok(_ client: ControlLineClient, _ request: [String: Any]) async throws {
        let response = try await call(client, request)
        #expect(response["ok"] as? Bool == true, "\(request["op"] ?? "?"): \(response)")
    }

    /// The events `poll` reported for `fd`.
    static func events(_ response: [String: Any], _ fd: Int) -> [String] {
        let ready = response["ready"] as? [[String: Any]] ?? []
        return ready.first { $0["fd"] as? Int == fd }?["events"] as? [String] ?? []
    }
}
