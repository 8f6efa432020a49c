import Foundation
import Testing

/// The control protocol (CONTROL-PROTOCOL.md) driving the stack's TCP sockets against Linux:
/// a whole client exchange and a whole server exchange, watched through `info` and `netstat`.
@Suite(
    "TCP over the control protocol against the Linux kernel",
    .enabled(if: InteropEnvironment.isAvailable, "needs root, iproute2, python3, /dev/net/tun and the tcpip binary"),
    .timeLimit(.minutes(5))
)
struct TCPControlInteropTests {
    /// The stack as a client of a python3 upper-casing echo server: connect, send 64 KiB while
    /// reading the answer, shut down writing, read the EOF, close. The stack closed first, so
    /// the connection stays in TIME-WAIT with no descriptor (RFC 9293 §3.6).
    @Test func clientExchangeWithAPythonServer() async throws {
        try await Namespace.with { ns in
            let path = "\(ns.directory)/control.sock"
            let stack = try await ns.startStack(["--control", path])
            let server = try ns.startPython(TCPScripts.upperEchoServer, [Namespace.linuxAddress, "9100"])
            #expect(await server.waitForLine(containing: "ready", timeout: 10), "server: \(server.stderr)")
            let c = try await stack.control()
            let remote = "\(Namespace.linuxAddress):9100"

            let fd = try #require(try await c.call(["op": "socket", "type": "stream"])["fd"] as? Int)
            let before = try await c.call(["op": "info", "fd": fd])
            #expect(before["state"] as? String == "CLOSED", "\(before)")
            let connect = try await c.call([
                "op": "connect", "fd": fd, "address": Namespace.linuxAddress, "port": 9100, "timeout_ms": 5000,
            ])
            #expect(connect.ok, "\(connect)")
            let info = try await c.call(["op": "info", "fd": fd])
            #expect(info["state"] as? String == "ESTABLISHED", "\(info)")
            expectControlBlock(info)
            let again = try await c.call(["op": "connect", "fd": fd, "address": Namespace.linuxAddress, "port": 9100])
            #expect(again.errorName == "EISCONN", "\(again)")
            let peer = try await c.call(["op": "getpeername", "fd": fd])
            #expect(peer["address"] as? String == Namespace.linuxAddress && peer["port"] as? Int == 9100, "\(peer)")
            let row = try #require(
                TCPInterop.rows(try await c.call(["op": "netstat"])).first { $0["fd"] as? Int == fd }
            )
            #expect(row["proto"] as? String == "tcp", "\(row)")
            #expect(row["state"] as? String == "ESTABLISHED", "\(row)")
            #expect(row["remote"] as? String == remote, "\(row)")
            #expect((row["local"] as? String)?.hasPrefix("\(Namespace.stackAddress):") == true, "\(row)")

            // 64 KiB, sent in pieces the stack may take partly, read back as it comes.
            let payload = Data((0..<65536).map { UInt8(ascii: "a") + UInt8($0 % 26) })
            var sent = 0
            var received = Data()
            for _ in 0..<2000 where received.count < payload.count {
                if sent < payload.count {
                    let piece = payload[sent..<min(sent + 16384, payload.count)]
                    let s = try await c.call([
                        "op": "send", "fd": fd, "data": piece.base64EncodedString(), "timeout_ms": 0,
                    ])
                    if s.ok {
                        sent += s["bytes"] as? Int ?? 0
                    } else {
                        #expect(s.errorName == "EAGAIN", "\(s)")
                    }
                }
                let r = try await c.call(["op": "recv", "fd": fd, "max": 65536, "timeout_ms": 50])
                if r.ok {
                    received += Data(base64Encoded: r["data"] as? String ?? "") ?? Data()
                    #expect(r["eof"] as? Bool == false, "\(r)")
                } else {
                    #expect(r.errorName == "EAGAIN", "\(r)")
                }
            }
            #expect(sent == payload.count)
            #expect(
                received == Data(String(decoding: payload, as: UTF8.self).uppercased().utf8),
                "got \(received.count) of \(payload.count) bytes"
            )

            let shutdown = try await c.call(["op": "shutdown", "fd": fd, "how": "write"])
            #expect(shutdown.ok, "\(shutdown)")
            let eof = try await c.call(["op": "recv", "fd": fd, "max": 100, "timeout_ms": 5000])
            #expect(eof.ok && eof["eof"] as? Bool == true && eof["data"] as? String == "", "\(eof)")
            #expect(await server.wait(timeout: 10))
            #expect(server.status == 0, "server: \(server.stdout) \(server.stderr)")
            #expect(server.stdout.contains("eof after \(payload.count) bytes"), "\(server.stdout)")
            let closing = try await c.call(["op": "info", "fd": fd])
            #expect(closing["state"] as? String == "TIME-WAIT", "\(closing)")

            #expect(try await c.call(["op": "close", "fd": fd]).ok)
            let after = TCPInterop.rows(try await c.call(["op": "netstat"]))
            #expect(!after.contains { $0["fd"] as? Int == fd }, "\(after)")
            let timeWait = after.first { $0["remote"] as? String == remote }
            #expect(timeWait?["state"] as? String == "TIME-WAIT", "\(after)")
            #expect(timeWait?["fd"] is NSNull, "\(after)")
            let closed = try await c.call(["op": "info", "fd": fd])
            #expect(closed.errorName == "EBADF", "\(closed)")
            #expect(stack.isRunning)
            #expect(await stack.stop() == 0)
        }
    }

    /// The stack as a server for a python3 client: bind 9000, listen, accept (blocking), recv,
    /// send, close. netstat shows the LISTEN row throughout and the ESTABLISHED row while the
    /// connection lives.
    @Test func serverExchangeWithAPythonClient() async throws {
        try await Namespace.with { ns in
            let path = "\(ns.directory)/control.sock"
            let stack = try await ns.startStack(["--control", path])
            let c = try await stack.control()

            let listener = try #require(try await c.call(["op": "socket", "type": "stream"])["fd"] as? Int)
            #expect(try await c.call(["op": "bind", "fd": listener, "port": 9000]).ok)
            #expect(try await c.call(["op": "listen", "fd": listener, "backlog": 8]).ok)
            let listening = try await c.call(["op": "info", "fd": listener])
            #expect(listening["state"] as? String == "LISTEN", "\(listening)")
            #expect(listening["accept_queue"] as? Int == 0, "\(listening)")
            let empty = try await c.call(["op": "accept", "fd": listener, "timeout_ms": 0])
            #expect(empty.errorName == "EAGAIN", "\(empty)")
            let listenRow = try #require(
                TCPInterop.rows(try await c.call(["op": "netstat"])).first { $0["fd"] as? Int == listener }
            )
            #expect(listenRow["state"] as? String == "LISTEN", "\(listenRow)")
            #expect(listenRow["local"] as? String == "0.0.0.0:9000", "\(listenRow)")
            #expect(listenRow["remote"] is NSNull, "\(listenRow)")

            let client = try ns.startPython(TCPScripts.pingClient, [Namespace.stackAddress, "9000"])
            let accepted = try await c.call(["op": "accept", "fd": listener, "timeout_ms": 10000])
            #expect(accepted.ok, "\(accepted) python: \(client.stdout) \(client.stderr)")
            let fd = try #require(accepted["fd"] as? Int)
            #expect(fd != listener)
            #expect(accepted["address"] as? String == Namespace.linuxAddress, "\(accepted)")
            let clientPort = try #require(accepted["port"] as? Int)
            #expect(await client.waitForLine(containing: "connected from", timeout: 10))
            #expect(
                client.stdout.contains("connected from \(Namespace.linuxAddress):\(clientPort)"),
                "\(client.stdout)"
            )

            let rows = TCPInterop.rows(try await c.call(["op": "netstat"]))
            let connRow = rows.first { $0["fd"] as? Int == fd }
            #expect(connRow?["state"] as? String == "ESTABLISHED", "\(rows)")
            #expect(connRow?["local"] as? String == "\(Namespace.stackAddress):9000", "\(rows)")
            #expect(connRow?["remote"] as? String == "\(Namespace.linuxAddress):\(clientPort)", "\(rows)")
            #expect(rows.contains { $0["fd"] as? Int == listener && $0["state"] as? String == "LISTEN" }, "\(rows)")
            let info = try await c.call(["op": "info", "fd": fd])
            #expect(info["state"] as? String == "ESTABLISHED", "\(info)")
            expectControlBlock(info)

            var request = Data()
            for _ in 0..<50 where request.count < 15 {
                let r = try await c.call(["op": "recv", "fd": fd, "max": 100, "timeout_ms": 5000])
                #expect(r.ok, "\(r)")
                guard r.ok, r["eof"] as? Bool != true else { break }
                request += Data(base64Encoded: r["data"] as? String ?? "") ?? Data()
            }
            #expect(String(decoding: request, as: UTF8.self) == "ping from linux")
            let reply = Data("pong:".utf8) + request
            let sent = try await c.call(["op": "send", "fd": fd, "data": reply.base64EncodedString()])
            #expect(sent["bytes"] as? Int == reply.count, "\(sent)")
            #expect(try await c.call(["op": "close", "fd": fd]).ok)

            #expect(await client.wait(timeout: 10), "python still running: \(client.stdout)")
            #expect(client.status == 0, "python: \(client.stdout) \(client.stderr)")
            #expect(client.stdout.contains("got 'pong:ping from linux' then eof"), "\(client.stdout)")
            // The stack closed first: TIME-WAIT, without a descriptor, beside the listener.
            var after: [[String: Any]] = []
            for _ in 0..<20 {
                after = TCPInterop.rows(try await c.call(["op": "netstat"]))
                if after.contains(where: { $0["state"] as? String == "TIME-WAIT" }) { break }
                await pause(milliseconds: 50)
            }
            #expect(!after.contains { $0["fd"] as? Int == fd }, "\(after)")
            let timeWait = after.first { $0["remote"] as? String == "\(Namespace.linuxAddress):\(clientPort)" }
            #expect(timeWait?["state"] as? String == "TIME-WAIT", "\(after)")
            #expect(timeWait?["fd"] is NSNull, "\(after)")
            #expect(after.contains { $0["fd"] as? Int == listener && $0["state"] as? String == "LISTEN" }, "\(after)")

            #expect(try await c.call(["op": "close", "fd": listener]).ok)
            let gone = TCPInterop.rows(try await c.call(["op": "netstat"]))
            #expect(!gone.contains { $0["state"] as? String == "LISTEN" }, "\(gone)")
            #expect(stack.isRunning)
            #expect(await stack.stop() == 0)
        }
    }

    /// The fields of a connected socket's `info`, with plausible values against Linux (which
    /// offers MSS 1460, window scaling, SACK and timestamps).
    private func expectControlBlock(_ info: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) {
        for key in [
            "snd_una", "snd_nxt", "snd_wnd", "rcv_nxt", "rcv_wnd", "iss", "irs", "mss", "srtt_us", "rttvar_us",
            "rto_us", "cwnd", "ssthresh", "retransmits_total", "backoff", "options",
        ] {
            #expect(info[key] != nil, "info has no \(key): \(info)", sourceLocation: sourceLocation)
        }
        let mss = info["mss"] as? Int ?? 0
        #expect((536...1460).contains(mss), "mss \(mss)", sourceLocation: sourceLocation)
        #expect(
            info["srtt_us"] as? Int != nil,
            "an RTT sample from the handshake: \(info)",
            sourceLocation: sourceLocation
        )
        // RFC 6298 §2.4: RTO at least 1 s (RFC 9293 allows a lower floor; 200 ms like Linux).
        #expect((info["rto_us"] as? Int ?? 0) >= 200_000, "\(info)", sourceLocation: sourceLocation)
        #expect((info["cwnd"] as? Int ?? 0) >= mss, "\(info)", sourceLocation: sourceLocation)
        let options = info["options"] as? [String: Any] ?? [:]
        for key in ["wscale", "sack", "timestamps"] {
            #expect(options[key] != nil, "options has no \(key): \(info)", sourceLocation: sourceLocation)
        }
    }
}
