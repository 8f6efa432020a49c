import Foundation
import Testing

/// Thousands of malformed frames from Linux's side: the stack must count each as a drop,
/// never crash, and keep answering.
@Suite(
    "Malformed frames from the Linux side",
    .enabled(if: InteropEnvironment.isAvailable, "needs root, iproute2, python3, /dev/net/tun and the tcpip binary"),
    .enabled(if: InteropEnvironment.hasPing, "needs ping (iputils-ping)"),
    .timeLimit(.minutes(5))
)
struct MalformedFrameSweepTests {
    /// A python3 AF_PACKET socket on tap0 sends 5000 seeded malformed frames (truncated and
    /// inconsistent headers of every layer, bad checksums, bad IP and TCP option lengths,
    /// random bytes). Its oracle tells which frames a correct stack MUST drop, and at which
    /// layer; the stack's `stats` must show at least that many new drops in all and in each
    /// layer, it must still run, and Linux must still be able to ping it.
    @Test(arguments: [20_251_125])
    func sweep(seed: Int) async throws {
        try await Namespace.with { ns in
            let path = "\(ns.directory)/control.sock"
            let stack = try await ns.startStack(["--control", path])
            // Let Linux and the stack learn each other's MAC first (the sweep never sends an
            // ARP packet that parses, so it cannot poison the stack's cache).
            let warmup = try await ns.run(["ping", "-c", "1", "-W", "2", Namespace.stackAddress], timeout: 10)
            #expect(warmup.status == 0, "\(warmup)")
            let c = try await stack.control()
            let before = try StackStats(try await c.call(["op": "stats"]))

            let count = 5000
            let r = try await ns.python(
                Scripts.malformedSweep,
                ["\(seed)", "\(count)", Namespace.stackMAC, Namespace.stackAddress],
                timeout: 120
            )
            try #require(r.status == 0, "\(r)")
            let summaryLine = try #require(r.stdout.split(separator: "\n").last { $0.hasPrefix("{") }, "\(r)")
            let summary = try #require(
                try JSONSerialization.jsonObject(with: Data(summaryLine.utf8)) as? [String: Any],
                "\(r)"
            )
            let sent = summary["sent"] as? Int ?? 0
            let mustDrop = summary["must_drop"] as? Int ?? 0
            let lost = summary["tx_dropped"] as? Int ?? 0
            #expect(sent >= count * 9 / 10, "\(summary)")
            #expect(lost <= sent / 10, "the kernel dropped too many frames on tap0: \(summary)")
            // Frames the kernel dropped on tap0 never reached the stack; we cannot tell which.
            let expected = mustDrop - lost

            // Per layer too: each must-drop frame is owed to the layer of its first failed check.
            let owed = (summary["layers"] as? [String: Int] ?? [:]).mapValues { $0 - lost }
            func shortfalls(_ after: StackStats) -> [String] {
                var out: [String] = []
                let total = after.totalDrops - before.totalDrops
                if total < expected { out.append("all layers: \(total) drops < \(expected) must-drop frames") }
                for (layer, n) in owed.sorted(by: { $0.key < $1.key }) {
                    let got = after.layerDrops(layer) - before.layerDrops(layer)
                    if got < n { out.append("\(layer): \(got) drops < \(n) must-drop frames") }
                }
                return out
            }

            // The stack reads up to its queue; wait (bounded) until the drops are all counted.
            var after = before
            for _ in 0..<50 {
                after = try StackStats(try await c.call(["op": "stats"]))
                if shortfalls(after).isEmpty { break }
                await pause(milliseconds: 100)
            }
            let newDrops = after.totalDrops - before.totalDrops
            print("sweep seed \(seed): \(summaryLine); stack counted \(newDrops) new drops: \(after.dropSummary)")
            #expect(shortfalls(after).isEmpty, "\(shortfalls(after)); \(summaryLine); \(after.dropSummary)")
            #expect(stack.isRunning, "the stack died during the sweep: \(stack.command.stderr)")

            let ping = try await ns.run(
                ["ping", "-c", "3", "-i", "0.2", "-W", "2", Namespace.stackAddress],
                timeout: 20
            )
            #expect(ping.status == 0 && ping.stdout.contains("3 received"), "\(ping)")
            #expect(try await c.call(["op": "hello"]).ok)
            #expect(await stack.stop() == 0)
        }
    }
}

extension Scripts {
    /// argv: seed count stack-mac stack-ip. Prints one JSON summary line last.
    static let malformedSweep = #"""
        import json, random, socket, struct, sys, time

        seed, count = int(sys.argv[1]), int(sys.argv[2])
        STACK_MAC = bytes.fromhex(sys.argv[3].replace(":", ""))
        STACK_IP = socket.inet_aton(sys.argv[4])
        LINUX_IP = socket.inet_aton("10.99.0.1")
        OTHER_IP = socket.inet_aton("10.99.0.77")
        BROADCAST_MAC = b"\xff" * 6
        rng = random.Random(seed)
        MY_MAC = bytes.fromhex(open("/sys/class/net/tap0/address").read().strip().replace(":", ""))

        def csum(data):
            if len(data) % 2:
                data += b"\0"
            s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
            while s >> 16:
                s = (s & 0xFFFF) + (s >> 16)
            return ~s & 0xFFFF

        def rbytes(n):
            return rng.randbytes(n)

        def eth(payload, ethertype=0x0800, dst=None):
            return (dst or STACK_MAC) + MY_MAC + struct.pack("!H", ethertype) + payload

        def ip_header(proto, payload_len, *, ihl=5, options=b"", total=None, version=4, flags=0x4000,
                      src=LINUX_IP, dst=STACK_IP, good_checksum=True):
            if total is None:
                total = ihl * 4 + payload_len
            h = bytearray(struct.pack("!BBHHHBBH4s4s", (version << 4) | (ihl & 15), 0, total & 0xFFFF,
                                      rng.randrange(65536), flags, 64, proto, 0, src, dst) + options)
            c = csum(bytes(h))
            if not good_checksum:
                c ^= rng.randrange(1, 0xFFFF)
            h[10:12] = struct.pack("!H", c)
            return bytes(h)

        def ipv4(proto, payload, **kw):
            return ip_header(proto, len(payload), **kw) + payload

        def pseudo(src, dst, proto, length):
            return src + dst + struct.pack("!BBH", 0, proto, length)

        def icmp_echo(data=b"", good=True):
            m = bytearray(struct.pack("!BBHHH", 8, 0, 0, rng.randrange(65536), rng.randrange(65536)) + data)
            c = csum(bytes(m))
            if not good:
                c ^= rng.randrange(1, 0xFFFF)
            m[2:4] = struct.pack("!H", c)
            return bytes(m)

        def udp(data, *, length=None, good=True, src=LINUX_IP, dst=STACK_IP):
            n = 8 + len(data) if length is None else length
            m = bytearray(struct.pack("!HHHH", rng.randrange(1024, 65536), rng.randrange(10, 1000), n & 0xFFFF, 0) + data)
            c = csum(pseudo(src, dst, 17, len(m)) + bytes(m)) or 0xFFFF
            if not good:
                c = (c ^ rng.randrange(1, 0xFFFF)) or 1
            m[6:8] = struct.pack("!H", c)
            return bytes(m)

        def tcp(data=b"", *, offset=5, options=b"", good=True, src=LINUX_IP, dst=STACK_IP):
            m = bytearray(struct.pack("!HHIIBBHHH", rng.randrange(1024, 65536), rng.randrange(1, 1024),
                                      rng.randrange(1 << 32), rng.randrange(1 << 32), (offset & 15) << 4,
                                      rng.choice([0x02, 0x10, 0x18, 0x04, 0x01, 0x12, 0x3F]), 65535, 0, 0)
                          + options + data)
            c = csum(pseudo(src, dst, 6, len(m)) + bytes(m))
            if not good:
                c ^= rng.randrange(1, 0xFFFF)
            m[16:18] = struct.pack("!H", c)
            return bytes(m)

        def bad_options(room):
            # One well-formed NOP, then an option whose length is 0, 1 or runs past the header.
            kind = rng.choice([7, 68, 130, 131, 137, 148, 25])
            length = rng.choice([0, 1, room + 1 + rng.randrange(8)])
            opts = b"\x01" + bytes([kind, length & 0xFF])
            return (opts + rbytes(room - len(opts)))[:room]

        def bad_tcp_options(room):
            kind = rng.choice([2, 3, 4, 5, 8, 30, 99])
            length = rng.choice([0, 1, room + 1 + rng.randrange(8)])
            opts = b"\x01" + bytes([kind, length & 0xFF])
            return (opts + rbytes(room - len(opts)))[:room]

        # Every generator makes one frame meant to be malformed; the oracle below has the last word.
        def g_unknown_ethertype():
            et = rng.choice([0x86DD, 0x8100, 0x88CC, 0x0000, 0x05DC, 0x9000, rng.randrange(0x0600, 0x10000)])
            return eth(rbytes(rng.randrange(0, 100)), et if et not in (0x0800, 0x0806) else 0x1234)
        def g_not_for_us():
            return eth(ipv4(1, icmp_echo(rbytes(8))), dst=bytes([0x02]) + rbytes(5))
        def g_arp_short():
            return eth(rbytes(rng.randrange(0, 28)), 0x0806, dst=rng.choice([STACK_MAC, BROADCAST_MAC]))
        def g_arp_bad_hardware():
            hrd, pro, hln, pln = rng.choice([(6, 0x0800, 6, 4), (1, 0x86DD, 6, 4), (1, 0x0800, 8, 4), (1, 0x0800, 6, 16)])
            body = struct.pack("!HHBBH", hrd, pro, hln, pln, 1) + MY_MAC + LINUX_IP + b"\0" * 6 + STACK_IP
            return eth(body, 0x0806, dst=BROADCAST_MAC)
        def g_arp_bad_op():
            op = rng.choice([0, 3, 4, 8, 0xFFFF])
            body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + MY_MAC + LINUX_IP + b"\0" * 6 + STACK_IP
            return eth(body, 0x0806)
        def g_ip_short():
            return eth(ipv4(1, icmp_echo(rbytes(16)))[: rng.randrange(0, 20)])
        def g_ip_bad_version():
            return eth(ipv4(1, icmp_echo(rbytes(8)), version=rng.choice([0, 1, 5, 6, 7, 15])))
        def g_ip_small_ihl():
            return eth(ipv4(1, icmp_echo(rbytes(8)), ihl=rng.randrange(0, 5)))
        def g_ip_ihl_past_end():
            payload = rbytes(rng.randrange(0, 30))
            h = ip_header(17, len(payload), ihl=15, total=20 + len(payload))[:20]
            return eth(h + payload)
        def g_ip_total_too_big():
            p = icmp_echo(rbytes(rng.randrange(0, 64)))
            return eth(ipv4(1, p, total=20 + len(p) + rng.randrange(1, 2000)))
        def g_ip_total_below_header():
            return eth(ipv4(1, icmp_echo(rbytes(8)), total=rng.randrange(0, 20)))
        def g_ip_bad_checksum():
            return eth(ipv4(rng.choice([1, 6, 17]), icmp_echo(rbytes(16)), good_checksum=False))
        def g_ip_bad_options():
            ihl = rng.randrange(6, 16)
            return eth(ipv4(1, icmp_echo(rbytes(8)), ihl=ihl, options=bad_options((ihl - 5) * 4)))
        def g_ip_not_for_us():
            return eth(ipv4(1, icmp_echo(rbytes(8)), dst=OTHER_IP))
        def g_icmp_short():
            return eth(ipv4(1, icmp_echo(rbytes(8))[: rng.randrange(0, 8)]))
        def g_icmp_bad_checksum():
            return eth(ipv4(1, icmp_echo(rbytes(rng.randrange(0, 200)), good=False)))
        def g_udp_short():
            return eth(ipv4(17, udp(rbytes(8))[: rng.randrange(0, 8)]))
        def g_udp_bad_length():
            data = rbytes(rng.randrange(0, 64))
            length = rng.choice([rng.randrange(0, 8), 8 + len(data) + rng.randrange(1, 500)])
            return eth(ipv4(17, udp(data, length=length)))
        def g_udp_bad_checksum():
            return eth(ipv4(17, udp(rbytes(rng.randrange(0, 300)), good=False)))
        def g_tcp_short():
            return eth(ipv4(6, tcp(rbytes(4))[: rng.randrange(0, 20)]))
        def g_tcp_bad_offset():
            seg = tcp(rbytes(rng.randrange(0, 16)), offset=rng.choice([0, 1, 2, 3, 4, 15]))
            return eth(ipv4(6, seg))
        def g_tcp_bad_checksum():
            return eth(ipv4(6, tcp(rbytes(rng.randrange(0, 100)), good=False)))
        def g_tcp_bad_options():
            words = rng.randrange(1, 11)
            return eth(ipv4(6, tcp(offset=5 + words, options=bad_tcp_options(words * 4))))
        def g_ip_truncated_payload():
            # Total length cuts the transport header short; the rest is Ethernet padding.
            proto = rng.choice([1, 6, 17])
            body = {1: icmp_echo(rbytes(8)), 6: tcp(), 17: udp(rbytes(8))}[proto]
            cut = rng.randrange(0, {1: 8, 6: 20, 17: 8}[proto])
            return eth(ipv4(proto, body, total=20 + cut))
        def g_random():
            dst = rng.choice([STACK_MAC, BROADCAST_MAC])
            et = rng.choice([0x0800, 0x0800, 0x0806, rng.randrange(65536)])
            return eth(rbytes(rng.randrange(0, 1500)), et, dst=dst)
        def g_random_ip_payload():
            proto = rng.choice([1, 6, 17, rng.randrange(256)])
            return eth(ipv4(proto, rbytes(rng.randrange(0, 1400))))

        GENERATORS = [v for k, v in sorted(globals().items()) if k.startswith("g_")]

        # The oracle: must a correct stack drop this frame, and at which layer? Everything that
        # fails a check RFC 894/826/791/1122/792/768/9293 makes mandatory is a must-drop, counted
        # at the layer of its first failed check. To stay conservative, any well-formed ARP, IP
        # fragment, ICMP, UDP or TCP message, or unknown IP protocol, may be accepted, even when
        # this stack would still drop it (no socket, unknown ICMP type).
        def options_ok(opts):
            i = 0
            for _ in range(40):
                if i >= len(opts) or opts[i] == 0:
                    return True
                if opts[i] == 1:
                    i += 1
                    continue
                if len(opts) - i < 2 or opts[i + 1] < 2 or opts[i + 1] > len(opts) - i:
                    return False
                i += opts[i + 1]
            return True

        def must_drop_layer(f):
            """The layer that must drop `f` (its first failed check), or None if it may be accepted."""
            if len(f) < 14 or f[0:6] not in (STACK_MAC, BROADCAST_MAC):
                return "link"
            et = struct.unpack("!H", f[12:14])[0]
            p = f[14:]
            if et == 0x0806:
                if len(p) < 28:
                    return "arp"
                hrd, pro, hln, pln, op = struct.unpack("!HHBBH", p[:8])
                ok = hrd == 1 and pro == 0x0800 and hln == 6 and pln == 4 and op in (1, 2)
                return None if ok else "arp"
            if et != 0x0800:
                return "link"
            if len(p) < 20 or p[0] >> 4 != 4:
                return "ip"
            ihl = (p[0] & 15) * 4
            total = struct.unpack("!H", p[2:4])[0]
            if ihl < 20 or ihl > len(p) or total < ihl or total > len(p) or csum(p[:ihl]) != 0:
                return "ip"
            if not options_ok(p[20:ihl]):
                return "ip"
            if p[16:20] not in (STACK_IP, b"\xff" * 4, STACK_IP[:3] + b"\xff"):
                return "ip"
            if p[12] >= 224 or p[12:16] in (b"\xff" * 4, STACK_IP[:3] + b"\xff"):
                return "ip"
            if struct.unpack("!H", p[6:8])[0] & 0x3FFF:
                return None  # A fragment waits for reassembly.
            proto, body = p[9], p[ihl:total]
            src, dst = p[12:16], p[16:20]
            if proto == 1:
                return None if len(body) >= 8 and csum(body) == 0 else "icmp"
            if proto == 17:
                if len(body) < 8:
                    return "udp"
                length, c = struct.unpack("!HH", body[4:8])
                if length < 8 or length > len(body):
                    return "udp"
                return None if c == 0 or csum(pseudo(src, dst, 17, length) + body[:length]) == 0 else "udp"
            if proto == 6:
                if len(body) < 20:
                    return "tcp"
                off = (body[12] >> 4) * 4
                ok = off >= 20 and off <= len(body) and csum(pseudo(src, dst, 6, len(body)) + body) == 0
                return None if ok else "tcp"
            return None  # Unknown protocol: a protocol unreachable answers it.

        def tx_dropped():
            with open("/sys/class/net/tap0/statistics/tx_dropped") as fh:
                return int(fh.read())

        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind(("tap0", 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        lost_before = tx_dropped()
        sent = must_drop = send_errors = 0
        kinds, layers = {}, {}
        for i in range(count):
            gen = GENERATORS[i % len(GENERATORS)] if i < 4 * len(GENERATORS) else rng.choice(GENERATORS)
            frame = gen()[:1514]
            try:
                s.send(frame)
            except OSError:
                send_errors += 1
                continue
            sent += 1
            layer = must_drop_layer(frame)
            if layer is not None:
                must_drop += 1
                name = gen.__name__[2:]
                kinds[name] = kinds.get(name, 0) + 1
                layers[layer] = layers.get(layer, 0) + 1
            if i % 25 == 24:
                time.sleep(0.004)  # Pace: tap0's queue holds 500 frames.
        time.sleep(0.5)
        lost = tx_dropped() - lost_before
        print(json.dumps({"sent": sent, "must_drop": must_drop, "send_errors": send_errors, "tx_dropped": lost,
                          "kinds": kinds, "layers": layers}, sort_keys=True))
        """#
}
