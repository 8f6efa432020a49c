import Foundation
import Testing

/// A SYN flood from Linux, from spoofed sources, at the stack's echo service: SYN cookies
/// (RFC 4987 §3.6) keep the listener serving legitimate python3 clients while it runs, and
/// the stack's memory stays bounded.
@Suite(
    "SYN flood from the Linux kernel",
    .enabled(if: InteropEnvironment.isAvailable, "needs root, iproute2, python3, /dev/net/tun and the tcpip binary"),
    .timeLimit(.minutes(3))
)
struct SYNFloodInteropTests {
    /// 100 000 SYNs from random sources in 198.18.0.0/15 (routed via the kernel, which drops
    /// the SYN,ACKs: it does not forward), sent from a raw socket inside the test's namespace,
    /// bounded in count and in time. Meanwhile 20 clients connect, exchange data and close.
    @Test func theListenerKeepsAcceptingLegitimateClientsDuringAFlood() async throws {
        try await Namespace.with { ns in
            let path = "\(ns.directory)/control.sock"
            let stack = try await ns.startStack([
                "--tcp-echo", "7", "--gateway", Namespace.linuxAddress, "--control", path,
            ])
            let before = Self.memory(of: stack.pid)
            let flood = try ns.startPython(Self.flooder, [Namespace.stackAddress, "7", "100000", "20000", "30"])
            // Let the flood fill the SYN queue (the first cookie says so) before the clients
            // come: its embryos stay for a minute, so every client meets a full queue.
            let control = try await stack.control()
            for _ in 0..<100 {
                let s = try StackStats(try await control.call(["op": "stats"]))
                if s.counter("tcp", "syn_cookies_sent") > 0 { break }
                await pause(milliseconds: 100)
            }
            let clients = try await ns.python(Self.clients, [Namespace.stackAddress, "7", "20", "0.15"], timeout: 60)
            _ = await flood.wait(timeout: 45)
            let during = Self.memory(of: stack.pid)
            let stats = try StackStats(try await control.call(["op": "stats"]))
            let sent = stats.counter("tcp", "syn_cookies_sent")
            let validated = stats.counter("tcp", "syn_cookies_validated")
            print(
                "SYNFloodInterop: \(flood.stdout.trimmingCharacters(in: .whitespacesAndNewlines)); "
                    + "clients: \(clients.stdout.trimmingCharacters(in: .whitespacesAndNewlines)); "
                    + "cookies sent \(sent), validated \(validated), failed "
                    + "\(stats.counter("tcp", "syn_cookies_failed")); RSS before \(before.rss) KiB, "
                    + "after \(during.rss) KiB, peak \(during.peak) KiB"
            )
            #expect(clients.status == 0, "\(clients)")
            #expect(clients.stdout.contains("20 of 20 succeeded"), "\(clients)")
            #expect(flood.stdout.contains("sent"), "\(flood.stdout) \(flood.stderr)")
            // What reached the stack (the TAP queue drops what it cannot hold) met a full SYN
            // queue and was answered with cookies; clients completed through them.
            #expect(sent > 10_000, "\(stats.layers["tcp"] ?? [:])")
            #expect(validated >= 1, "\(stats.layers["tcp"] ?? [:])")
            // Bounded memory: the flood's state is the SYN queue (1024 embryos) and the ARP and
            // reassembly tables, not 100 000 connections.
            #expect(during.peak - before.rss < 64 * 1024, "RSS grew from \(before.rss) to \(during.peak) KiB")
            #expect(stack.isRunning)
            #expect(await stack.stop() == 0)
        }
    }

    /// VmRSS and VmHWM of a process, in KiB.
    static func memory(of pid: Int32) -> (rss: Int, peak: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            for line in status.split(separator: "\n") where line.hasPrefix(name) {
                return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
            }
            return 0
        }
        return (field("VmRSS:"), field("VmHWM:"))
    }

    /// argv: address port count rate seconds. Raw SYNs with random spoofed sources, `rate`
    /// per second at most; prints "sent N SYNs in S s".
    static let flooder = #"""
        import random, socket, struct, sys, time
        dst, port, count, rate, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        def csum(b):
            if len(b) % 2: b += b"\0"
            s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
            while s >> 16: s = (s & 0xFFFF) + (s >> 16)
            return ~s & 0xFFFF
        d = socket.inet_aton(dst)
        rnd = random.Random(7)
        packets = []
        for i in range(count):
            src = struct.pack("!I", (198 << 24 | 18 << 16) + rnd.randrange(1 << 17))
            sport = rnd.randrange(1024, 65535)
            opts = struct.pack("!BBH", 2, 4, 1460)
            tcp = struct.pack("!HHIIBBHHH", sport, port, rnd.randrange(1 << 32), 0, 6 << 4, 0x02, 64240, 0, 0) + opts
            c = csum(src + d + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
            tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xFFFF, 0, 64, 6, 0, src, d)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            packets.append(ip + tcp)
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        start = time.monotonic()
        sent = 0
        for p in packets:
            elapsed = time.monotonic() - start
            if elapsed > limit: break
            if sent > rate * elapsed: time.sleep(0.001)
            try:
                s.sendto(p, (dst, 0))
                sent += 1
            except OSError:
                time.sleep(0.001)
        print("sent %d SYNs in %.1f s" % (sent, time.monotonic() - start))
        """#

    /// argv: address port n gap. n clients, one after another, `gap` seconds apart: connect,
    /// send, read the echo, close; prints "K of n succeeded".
    static let clients = #"""
        import socket, sys, time
        dst, port, n, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        ok = 0
        worst = 0.0
        for i in range(n):
            start = time.monotonic()
            try:
                c = socket.create_connection((dst, port), timeout=10)
                msg = b"client %d says hello through the flood" % i
                c.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    part = c.recv(4096)
                    if not part: break
                    got += part
                c.close()
                if got == msg: ok += 1
                else: print("client %d: echoed %r" % (i, got))
            except OSError as e:
                print("client %d: %s" % (i, e))
            worst = max(worst, time.monotonic() - start)
            time.sleep(gap)
        print("%d of %d succeeded, slowest %.3f s" % (ok, n, worst))
        """#
}
