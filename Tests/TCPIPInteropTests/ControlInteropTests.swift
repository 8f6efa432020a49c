import Foundation
import Testing

/// The control protocol (CONTROL-PROTOCOL.md) driving the stack's sockets against Linux.
@Suite(
    "Control protocol against the Linux kernel",
    .enabled(if: InteropEnvironment.isAvailable, "needs root, iproute2, python3, /dev/net/tun and the tcpip binary"),
    .timeLimit(.minutes(5))
)
struct ControlInteropTests {
    /// socket, bind, sendto, recvfrom, netstat, stats and close with a python3 UDP server on
    /// Linux; then the protocol's error answers, each leaving the connection usable.
    @Test func udpExchangeDrivenOverTheControlSocket() async throws {
        try await Namespace.with { ns in
            let path = "\(ns.directory)/control.sock"
            let stack = try await ns.startStack(["--control", path])
            let server = try ns.startPython(Scripts.udpPongServer, [Namespace.linuxAddress, "5555"])
            #expect(await server.waitForLine(containing: "ready", timeout: 10), "server: \(server.stderr)")
            let c = try await stack.control()

            let hello = try await c.call(["op": "hello"])
            #expect(hello.ok, "\(hello)")
            #expect(hello["name"] is String, "\(hello)")
            let interfaces = hello["interfaces"] as? [[String: Any]] ?? []
            #expect(interfaces.contains { $0["address"] as? String == Namespace.stackAddress }, "\(hello)")
            #expect(interfaces.contains { ($0["mac"] as? String)?.lowercased() == Namespace.stackMAC }, "\(hello)")

            let socket = try await c.call(["op": "socket", "type": "dgram"])
            #expect(socket.ok, "\(socket)")
            let fd = try #require(socket["fd"] as? Int)
            #expect(fd >= 3)
            let bind = try await c.call(["op": "bind", "fd": fd, "port": 4000])
            #expect(bind.ok, "\(bind)")

            for payload in [Data("ping".utf8), Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 13) })] {
                let sent = try await c.call([
                    "op": "sendto", "fd": fd, "data": payload.base64EncodedString(),
                    "address": Namespace.linuxAddress, "port": 5555,
                ])
                #expect(sent.ok && sent["bytes"] as? Int == payload.count, "\(sent)")
                let got = try await c.call(["op": "recvfrom", "fd": fd, "max": 65536, "timeout_ms": 5000])
                #expect(got.ok, "\(got)")
                let data = Data(base64Encoded: got["data"] as? String ?? "") ?? Data()
                #expect(data == Data("pong:".utf8) + payload, "got \(data.count) bytes: \(got)")
                #expect(got["address"] as? String == Namespace.linuxAddress, "\(got)")
                #expect(got["port"] as? Int == 5555, "\(got)")
            }
            #expect(await server.wait(timeout: 10))
            #expect(server.status == 0, "server: \(server.stdout) \(server.stderr)")
            #expect(server.stdout.contains("got 4 bytes from \(Namespace.stackAddress):4000"), "\(server.stdout)")
            #expect(server.stdout.contains("got 3000 bytes from \(Namespace.stackAddress):4000"), "\(server.stdout)")

            let netstat = try await c.call(["op": "netstat"])
            #expect(netstat.ok, "\(netstat)")
            let sockets = netstat["sockets"] as? [[String: Any]] ?? []
            let mine = sockets.first { $0["fd"] as? Int == fd }
            #expect(mine?["proto"] as? String == "udp", "\(netstat)")
            #expect((mine?["local"] as? String)?.hasSuffix(":4000") == true, "\(netstat)")

            let stats = try StackStats(try await c.call(["op": "stats"]))
            #expect(stats.counter("udp", "datagrams_out") >= 2, "\(stats.layers)")
            #expect(stats.counter("udp", "datagrams_in") >= 2, "\(stats.layers)")
            #expect(stats.counter("ip", "datagrams_reassembled") >= 1, "\(stats.layers)")
            #expect(stats.counter("ip", "datagrams_fragmented") >= 1, "\(stats.layers)")

            // Errors: a line that is not JSON, an unknown op, a stream socket (no TCP yet), a missing argument.
            let garbage = try await c.callRaw("this is not json {")
            #expect(!garbage.ok && garbage.errorName == "EPROTO", "\(garbage)")
            let notObject = try await c.callRaw("[1, 2, 3]")
            #expect(!notObject.ok && notObject.errorName == "EPROTO", "\(notObject)")
            #expect(try await c.call(["op": "hello"]).ok, "the connection must stay usable after EPROTO")
            let unknown = try await c.call(["op": "frobnicate"])
            #expect(!unknown.ok && unknown.errorName == "EOPNOTSUPP", "\(unknown)")
            // Until TCP is wired to the control server a stream socket is EOPNOTSUPP; once it
            // is, the descriptor must be real and closable.
            let stream = try await c.call(["op": "socket", "type": "stream"])
            if let streamFD = stream["fd"] as? Int, stream.ok {
                #expect(try await c.call(["op": "close", "fd": streamFD]).ok)
            } else {
                #expect(stream.errorName == "EOPNOTSUPP", "\(stream)")
            }
            let missing = try await c.call(["op": "bind", "fd": fd])
            #expect(!missing.ok && missing.errorName == "EINVAL", "\(missing)")
            #expect(try await c.call(["op": "hello"]).ok, "the connection must stay usable after errors")

            // A second client sees the same descriptors; closing it closes no socket.
            do {
                let other = try await stack.control()
                let n = try await other.call(["op": "netstat"])
                #expect((n["sockets"] as? [[String: Any]] ?? []).contains { $0["fd"] as? Int == fd }, "\(n)")
            }
            let close = try await c.call(["op": "close", "fd": fd])
            #expect(close.ok, "\(close)")
            let after = try await c.call(["op": "netstat"])
            #expect(!(after["sockets"] as? [[String: Any]] ?? []).contains { $0["fd"] as? Int == fd }, "\(after)")
            let closed = try await c.call(["op": "recvfrom", "fd": fd, "max": 10, "timeout_ms": 0])
            #expect(!closed.ok && closed.errorName == "EBADF", "\(closed)")

            #expect(stack.isRunning)
            #expect(await stack.stop() == 0)
        }
    }
}
