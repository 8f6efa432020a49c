import Foundation
import Testing

/// TCP with Linux's sockets: the stack's echo service under many short connections and under
/// loss, a refused connection, a reset, and the pcap of a TCP session.
@Suite(
    "TCP echo with the Linux kernel",
    .enabled(if: InteropEnvironment.isAvailable, "needs root, iproute2, python3, /dev/net/tun and the tcpip binary"),
    .timeLimit(.minutes(5))
)
struct TCPEchoInteropTests {
    /// 1000 sequential short connections from python3 to `--tcp-echo 7`, each a 32-byte
    /// round trip, all succeed within 60 s; afterwards the stack holds no connection but the
    /// listener (every one was closed both ways, RFC 9293 §3.6).
    @Test func thousandShortConnectionsAllSucceed() async throws {
        try await Namespace.with { ns in
            let path = "\(ns.directory)/control.sock"
            let stack = try await ns.startStack(["--tcp-echo", "7", "--control", path])
            let clock = ContinuousClock()
            let start = clock.now
            let r = try await ns.python(
                TCPScripts.shortConnections,
                [Namespace.stackAddress, "7", "1000", "60"],
                timeout: 90
            )
            let summary = r.stdout.split(separator: "\n").first ?? ""
            print("TCPEchoInterop: 1000 short connections: \(summary) (\(clock.now - start))")
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains("1000 of 1000 succeeded"), "\(r)")

            // The echo service closes after the client's FIN; the last ACKs settle within a moment.
            let c = try await stack.control()
            var leftover: [[String: Any]] = []
            for _ in 0..<50 {
                leftover = TCPInterop.rows(try await c.call(["op": "netstat"])).filter {
                    $0["proto"] as? String == "tcp" && $0["state"] as? String != "LISTEN"
                }
                if leftover.isEmpty { break }
                await pause(milliseconds: 100)
            }
            #expect(leftover.isEmpty, "connections left in the stack after 5 s: \(leftover.prefix(10))")
            let stats = try StackStats(try await c.call(["op": "stats"]))
            #expect(stats.counter("tcp", "resets_out") == 0, "\(stats.layers["tcp"] ?? [:])")
            #expect(stats.layerDrops("tcp") == 0, "\(stats.dropSummary)")
            #expect(stack.isRunning)
            #expect(await stack.stop() == 0)
        }
    }

    /// A SYN to a port nobody listens on draws a RST (RFC 9293 §3.10.7.1), which Linux reports
    /// as ECONNREFUSED.
    @Test func aClosedPortRefusesTheConnection() async throws {
        try await Namespace.with { ns in
            let path = "\(ns.directory)/control.sock"
            let stack = try await ns.startStack(["--tcp-echo", "7", "--control", path])
            let r = try await ns.python(TCPScripts.connectionRefused, [Namespace.stackAddress, "9"], timeout: 20)
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains("ECONNREFUSED twice"), "\(r)")
            let stats = try StackStats(try await stack.control().call(["op": "stats"]))
            #expect(stats.counter("tcp", "resets_out") >= 2, "\(stats.layers["tcp"] ?? [:])")
            #expect(stack.isRunning)
            #expect(await stack.stop() == 0)
        }
    }

    /// Two aborts driven over the control socket, each seen by python3 as ECONNRESET: closing a
    /// connection with received data unread sends a RST (RFC 9293 §3.10.4, RFC 2525 §2.17), and
    /// so does closing with SO_LINGER 0.
    @Test func anAbortResetsThePythonConnection() async throws {
        try await Namespace.with { ns in
            let path = "\(ns.directory)/control.sock"
            let stack = try await ns.startStack(["--control", path])
            let c = try await stack.control()
            let listener = try #require(try await c.call(["op": "socket", "type": "stream"])["fd"] as? Int)
            let bind = try await c.call(["op": "bind", "fd": listener, "port": 9001])
            #expect(bind.ok, "\(bind)")
            let listen = try await c.call(["op": "listen", "fd": listener, "backlog": 4])
            #expect(listen.ok, "\(listen)")

            let client = try ns.startPython(TCPScripts.expectResets, [Namespace.stackAddress, "9001"])

            // 1: data arrives and is never read; close aborts.
            let first = try await c.call(["op": "accept", "fd": listener, "timeout_ms": 10000])
            #expect(first.ok, "\(first) python: \(client.stdout) \(client.stderr)")
            let fd1 = try #require(first["fd"] as? Int)
            let readable = try await c.call(["op": "poll", "fds": [fd1], "events": ["in"], "timeout_ms": 5000])
            #expect(TCPInterop.isReady(readable, fd: fd1, "in"), "\(readable)")
            let info1 = try await c.call(["op": "info", "fd": fd1])
            #expect((info1["recv_queue"] as? Int ?? 0) > 0, "\(info1)")
            let close1 = try await c.call(["op": "close", "fd": fd1])
            #expect(close1.ok, "\(close1)")

            // 2: SO_LINGER 0, then close: an abort with nothing unread.
            let second = try await c.call(["op": "accept", "fd": listener, "timeout_ms": 10000])
            #expect(second.ok, "\(second) python: \(client.stdout) \(client.stderr)")
            let fd2 = try #require(second["fd"] as? Int)
            let linger = try await c.call(["op": "setsockopt", "fd": fd2, "option": "SO_LINGER", "value": 0])
            #expect(linger.ok, "\(linger)")
            let close2 = try await c.call(["op": "close", "fd": fd2])
            #expect(close2.ok, "\(close2)")

            #expect(await client.wait(timeout: 15), "python still waiting: \(client.stdout)")
            #expect(client.status == 0, "python: \(client.stdout) \(client.stderr)")
            #expect(client.stdout.contains("connection 1: ECONNRESET"), "\(client.stdout) \(client.stderr)")
            #expect(client.stdout.contains("connection 2: ECONNRESET"), "\(client.stdout) \(client.stderr)")
            let stats = try StackStats(try await c.call(["op": "stats"]))
            #expect(stats.counter("tcp", "resets_out") >= 2, "\(stats.layers["tcp"] ?? [:])")
            // An aborted connection leaves nothing behind (no TIME-WAIT after a RST).
            let rows = TCPInterop.rows(try await c.call(["op": "netstat"]))
            #expect(rows.filter { $0["state"] as? String != "LISTEN" }.isEmpty, "\(rows)")
            #expect(try await c.call(["op": "close", "fd": listener]).ok)
            #expect(stack.isRunning)
            #expect(await stack.stop() == 0)
        }
    }

    /// 10 MiB through the echo service while the stack's fault injector drops 2 % of frames in
    /// each direction: every byte comes back, in order (SHA-256 of the echo equals the sent).
    @Test func echoOfTenMiBSurvivesTwoPercentLoss() async throws {
        try await Namespace.with { ns in
            let path = "\(ns.directory)/control.sock"
            let stack = try await ns.startStack([
                "--tcp-echo", "7", "--loss", "0.02", "--fault-seed", "11", "--control", path,
            ])
            let clock = ContinuousClock()
            let start = clock.now
            let r = try await ns.python(
                TCPScripts.bulkEcho,
                [Namespace.stackAddress, "7", "\(10 << 20)", "60"],
                timeout: 90
            )
            print("TCPEchoInterop: 10 MiB echo with 2 % loss: \(clock.now - start)")
            #expect(r.status == 0, "\(r)")
            let sent = TCPInterop.field("sent-sha256", in: r.stdout)
            let echoed = TCPInterop.field("echoed-sha256", in: r.stdout)
            #expect(sent != nil && sent == echoed, "\(r)")
            #expect(r.stdout.contains("echoed \(10 << 20) bytes"), "\(r)")
            let stats = try StackStats(try await stack.control().call(["op": "stats"]))
            print(
                "TCPEchoInterop: 10 MiB under loss: the stack retransmitted "
                    + "\(stats.counter("tcp", "retransmitted_segments")) segments "
                    + "(\(stats.counter("tcp", "fast_retransmits")) fast, "
                    + "\(stats.counter("tcp", "retransmit_timeouts")) timeouts), "
                    + "\(stats.counter("tcp", "out_of_order_segments")) arrived out of order"
            )
            // The loss was real: the stack had to send some segments again.
            #expect(stats.counter("tcp", "retransmitted_segments") > 0, "\(stats.layers["tcp"] ?? [:])")
            #expect(stack.isRunning)
            #expect(await stack.stop() == 0)
        }
    }

    /// The `--pcap` file of TCP sessions (echo connections, a refused one) opens in tshark with
    /// no malformed frame and no bad checksum, and tshark finds each handshake's SYN and SYN-ACK.
    @Test(.enabled(if: InteropEnvironment.hasTshark, "needs tshark"))
    func pcapOfTCPSessionsOpensCleanlyInTshark() async throws {
        try await Namespace.with { ns in
            let pcap = "\(ns.directory)/tcp.pcap"
            let stack = try await ns.startStack(["--tcp-echo", "7", "--pcap", pcap])
            let r = try await ns.python(TCPScripts.shortConnections, [Namespace.stackAddress, "7", "5", "20"])
            #expect(r.status == 0, "\(r)")
            let refused = try await ns.python(TCPScripts.connectionRefused, [Namespace.stackAddress, "9"])
            #expect(refused.status == 0, "\(refused)")
            #expect(await stack.stop() == 0, "SIGTERM should end serve with 0; stderr: \(stack.command.stderr)")

            let checksums = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"]
            let verbose = try await Command.run(
                ["tshark", "-n", "-r", pcap, "-V"] + checksums,
                directory: ns.directory
            )
            #expect(verbose.status == 0, "\(verbose.stderr)")
            #expect(
                !verbose.stdout.lowercased().contains("malformed"),
                "\(TCPInterop.excerpt(verbose.stdout, around: "alformed"))"
            )
            #expect(
                !verbose.stdout.contains("Status: Bad"),
                "\(TCPInterop.excerpt(verbose.stdout, around: "Status: Bad"))"
            )

            func count(_ filter: String) async throws -> Int {
                let f = try await Command.run(
                    ["tshark", "-n", "-r", pcap, "-2", "-Y", filter, "-T", "fields", "-e", "frame.number"],
                    directory: ns.directory
                )
                #expect(f.status == 0, "\(filter): \(f.stderr)")
                return f.stdout.split(separator: "\n").count
            }
            let l = Namespace.linuxAddress
            let s = Namespace.stackAddress
            // Five echo connections and two refused attempts: 7 SYNs from Linux, 5 SYN-ACKs back.
            #expect(try await count("tcp.flags.syn==1 && tcp.flags.ack==0 && ip.src==\(l)") == 7)
            #expect(try await count("tcp.flags.syn==1 && tcp.flags.ack==1 && ip.src==\(s)") == 5)
            #expect(try await count("tcp.flags.reset==1 && ip.src==\(s) && tcp.srcport==9") == 2)
            // A clean link: tshark's analysis finds nothing lost, repeated or out of order.
            let trouble =
                "tcp.analysis.retransmission || tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment"
                + " || tcp.analysis.out_of_order || tcp.analysis.duplicate_ack || tcp.analysis.zero_window"
            let troubled = try await Command.run(
                ["tshark", "-n", "-r", pcap, "-2", "-Y", trouble],
                directory: ns.directory
            )
            #expect(troubled.status == 0, "\(troubled.stderr)")
            #expect(troubled.stdout.isEmpty, "tshark's TCP analysis:\n\(troubled.stdout)")
        }
    }
}

/// Helpers of the TCP interop tests.
enum TCPInterop {
    /// The `sockets` rows of a `netstat` response.
    static func rows(_ netstat: [String: Any]) -> [[String: Any]] {
        netstat["sockets"] as? [[String: Any]] ?? []
    }

    /// True when a `poll` response lists `fd` with `event`.
    static func isReady(_ poll: [String: Any], fd: Int, _ event: String) -> Bool {
        (poll["ready"] as? [[String: Any]] ?? []).contains {
            $0["fd"] as? Int == fd && ($0["events"] as? [String] ?? []).contains(event)
        }
    }

    /// The value of a `name value` line of a script's output.
    static func field(_ name: String, in text: String) -> String? {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 && parts[0] == name { return String(parts[1]) }
        }
        return nil
    }

    /// Writes `size` deterministic bytes (python's Mersenne Twister, seeded) to `path` and
    /// returns their SHA-256 in hex.
    static func makeFile(_ path: String, size: Int, seed: Int, in ns: Namespace) async throws -> String {
        let r = try await ns.python(TCPScripts.makeFile, [path, "\(size)", "\(seed)"], timeout: 60)
        guard r.status == 0, let hash = field("sha256", in: r.stdout) else {
            throw HarnessError("cannot write \(path): \(r)")
        }
        return hash
    }

    /// The SHA-256 of a file in hex, and its size, from python's hashlib.
    static func sha256(of path: String, in ns: Namespace) async throws -> (hash: String, size: Int) {
        let r = try await ns.python(TCPScripts.hashFile, [path], timeout: 60)
        guard r.status == 0, let hash = field("sha256", in: r.stdout),
            let size = field("size", in: r.stdout).flatMap(Int.init)
        else { throw HarnessError("cannot hash \(path): \(r)") }
        return (hash, size)
    }

    /// Part of `text` around the first `needle`, for messages.
    static func excerpt(_ text: String, around needle: String) -> String {
        guard let range = text.range(of: needle) else { return "" }
        let start = text.index(range.lowerBound, offsetBy: -600, limitedBy: text.startIndex) ?? text.startIndex
        let end = text.index(range.upperBound, offsetBy: 200, limitedBy: text.endIndex) ?? text.endIndex
        return String(text[start..<end])
    }
}

/// The python3 programs that play Linux's side of the TCP tests.
enum TCPScripts {
    /// argv: address port count budget-seconds. Sequential connections, each a 32-byte echo.
    static let shortConnections = #"""
        import socket, sys, time
        address, port, count, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        start = time.monotonic()
        ok, failures = 0, []
        for i in range(count):
            if time.monotonic() - start > budget:
                failures.append(f"out of time after {i} connections")
                break
            payload = (b"%08d" % i) * 4
            try:
                with socket.create_connection((address, port), timeout=5) as s:
                    s.sendall(payload)
                    got = b""
                    while len(got) < len(payload):
                        chunk = s.recv(len(payload) - len(got))
                        if not chunk:
                            break
                        got += chunk
                if got == payload:
                    ok += 1
                else:
                    failures.append(f"connection {i}: got {got!r}")
            except OSError as e:
                failures.append(f"connection {i}: {e!r}")
        print(f"{ok} of {count} succeeded in {time.monotonic() - start:.2f} s")
        for f in failures[:10]:
            print(f)
        sys.exit(0 if ok == count else 1)
        """#

    /// argv: address closed-port. Two connects, each refused.
    static let connectionRefused = #"""
        import socket, sys
        address, port = sys.argv[1], int(sys.argv[2])
        for attempt in range(2):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            try:
                s.connect((address, port))
                print("connected to a closed port")
                sys.exit(1)
            except ConnectionRefusedError:
                print(f"attempt {attempt}: ECONNREFUSED")
            except socket.timeout:
                print(f"attempt {attempt}: timed out: no RST came")
                sys.exit(1)
            finally:
                s.close()
        print("ECONNREFUSED twice")
        """#

    /// argv: address port. Connection 1 sends bytes the stack never reads, connection 2 sends
    /// nothing; each must end in ECONNRESET.
    static let expectResets = #"""
        import socket, sys
        address, port = sys.argv[1], int(sys.argv[2])
        failed = False
        for n, payload in ((1, b"never read " * 50), (2, b"")):
            s = socket.create_connection((address, port), timeout=15)
            if payload:
                s.sendall(payload)
            print(f"connection {n}: connected, sent {len(payload)} bytes", flush=True)
            try:
                data = s.recv(100)
                print(f"connection {n}: got {data!r} instead of a reset", flush=True)
                failed = True
            except ConnectionResetError:
                print(f"connection {n}: ECONNRESET", flush=True)
            except socket.timeout:
                print(f"connection {n}: timed out: no RST came", flush=True)
                failed = True
            s.close()
        sys.exit(1 if failed else 0)
        """#

    /// argv: address port size budget-seconds. Sends `size` seeded bytes and reads the echo at
    /// the same time; prints both SHA-256s.
    static let bulkEcho = #"""
        import hashlib, random, socket, sys, threading, time
        address, port, size, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        data = random.Random(5).randbytes(size)
        start = time.monotonic()
        s = socket.create_connection((address, port), timeout=10)
        s.settimeout(budget)
        errors = []
        def send():
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
            except OSError as e:
                errors.append(f"send: {e!r}")
        t = threading.Thread(target=send, daemon=True)
        t.start()
        h, n = hashlib.sha256(), 0
        try:
            while True:
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                h.update(chunk)
                n += len(chunk)
        except OSError as e:
            errors.append(f"recv after {n} bytes: {e!r}")
        t.join(5)
        s.close()
        print(f"echoed {n} bytes in {time.monotonic() - start:.2f} s")
        print(f"sent-sha256 {hashlib.sha256(data).hexdigest()}")
        print(f"echoed-sha256 {h.hexdigest()}")
        for e in errors:
            print(e)
        sys.exit(0 if n == size and not errors else 1)
        """#

    /// argv: path size seed. Writes seeded bytes in 1 MiB pieces; prints their SHA-256.
    static let makeFile = #"""
        import hashlib, os, random, sys
        path, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        rng, h, left = random.Random(seed), hashlib.sha256(), size
        with open(path, "wb") as f:
            while left > 0:
                piece = rng.randbytes(min(left, 1 << 20))
                f.write(piece)
                h.update(piece)
                left -= len(piece)
        print(f"sha256 {h.hexdigest()}")
        """#

    /// argv: path. Prints the file's SHA-256 and size.
    static let hashFile = #"""
        import hashlib, sys
        h, n = hashlib.sha256(), 0
        with open(sys.argv[1], "rb") as f:
            while True:
                piece = f.read(1 << 20)
                if not piece:
                    break
                h.update(piece)
                n += len(piece)
        print(f"sha256 {h.hexdigest()}")
        print(f"size {n}")
        """#

    /// argv: bind-address port. Accepts one connection, echoes it upper-cased until EOF, closes.
    static let upperEchoServer = #"""
        import socket, sys
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((sys.argv[1], int(sys.argv[2])))
        srv.listen(1)
        srv.settimeout(60)
        print("ready", flush=True)
        c, peer = srv.accept()
        c.settimeout(30)
        print(f"accepted {peer[0]}:{peer[1]}", flush=True)
        total = 0
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d.upper())
            total += len(d)
        print(f"eof after {total} bytes", flush=True)
        c.close()
        """#

    /// argv: address port. Sends a line, reads the answer until EOF.
    static let pingClient = #"""
        import socket, sys
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=15)
        print(f"connected from {s.getsockname()[0]}:{s.getsockname()[1]}", flush=True)
        s.sendall(b"ping from linux")
        got = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
        s.close()
        print(f"got {got.decode()!r} then eof", flush=True)
        sys.exit(0 if got == b"pong:ping from linux" else 1)
        """#
}
