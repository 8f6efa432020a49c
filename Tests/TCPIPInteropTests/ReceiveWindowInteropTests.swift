import Foundation
import Testing

/// Defect 3 of issue 7 over TAP: the receive window the stack judges segments by is the one
/// it told the peer (RFC 9293 §3.10.7.4, after window-scale rounding, RFC 7323 §2.4). A peer
/// of raw frames (python3 on an AF_PACKET socket, at an address of its own on the link) fills
/// the window told, then sends a segment straddling its right edge, a zero-window probe and
/// data beyond the edge; the application then reads exactly the bytes acknowledged.
@Suite(
    "The receive window told, with raw frames from Linux",
    .enabled(if: InteropEnvironment.isAvailable, "needs root, iproute2, python3, /dev/net/tun and the tcpip binary"),
    .timeLimit(.minutes(3))
)
struct ReceiveWindowInteropTests {
    @Test func segmentsAreJudgedByTheWindowTold() async throws {
        try await Namespace.with { ns in
            let path = "\(ns.directory)/control.sock"
            let stack = try await ns.startStack(["--control", path])
            let c = try await stack.control()
            let listener = try #require(try await c.call(["op": "socket", "type": "stream"])["fd"] as? Int)
            // 300 000 bytes of buffer (setsockopt doubles it, as Linux): a window-scale shift of 3,
            // so the window field cannot tell most edges exactly (segments of 999 bytes).
            #expect(try await c.call(["op": "setsockopt", "fd": listener, "option": "SO_RCVBUF", "value": 150_000]).ok)
            #expect(try await c.call(["op": "bind", "fd": listener, "port": 5001]).ok)
            #expect(try await c.call(["op": "listen", "fd": listener, "backlog": 4]).ok)
            let peer = try ns.startPython(Self.peer, [Namespace.stackAddress, Namespace.stackMAC, "5001", "10"])
            let done = await peer.waitForLine(containing: "acknowledged ", timeout: 30)
            let line = peer.stdout.split(separator: "\n").first { $0.hasPrefix("acknowledged ") }
            let told = done ? line.flatMap { Int($0.dropFirst(13)) } : nil
            let taken = try #require(told, "\(peer.stdout) \(peer.stderr)")
            print("ReceiveWindowInterop: " + peer.stdout.split(separator: "\n").joined(separator: "; "))
            let accepted = try await c.call(["op": "accept", "fd": listener, "timeout_ms": 2000])
            let fd = try #require(accepted["fd"] as? Int, "\(accepted)")
            var data = Data()
            for _ in 0..<100 where data.count < taken {
                let r = try await c.call(["op": "recv", "fd": fd, "max": 65536, "timeout_ms": 1000])
                guard let chunk = (r["data"] as? String).flatMap({ Data(base64Encoded: $0) }), !chunk.isEmpty else {
                    break
                }
                data.append(chunk)
            }
            let expected = Data((0..<taken).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            #expect(data.count == taken, "read \(data.count) of the \(taken) bytes acknowledged")
            #expect(data == expected, "the bytes read are the bytes sent")
            let more = try await c.call(["op": "recv", "fd": fd, "max": 65536, "timeout_ms": 200])
            #expect(more.errorName == "EAGAIN", "nothing beyond the acknowledged bytes: \(more)")
            await peer.stop()
            #expect(await stack.stop() == 0)
        }
    }

    /// argv: stack-address stack-MAC port linger-seconds. Prints one line per check and
    /// `acknowledged N` (bytes in all); exits 1 with `FAIL …` on the first wrong answer.
    static let peer = #"""
        import socket, struct, sys, time, random
        # argv: stack_ip stack_mac port
        stack_ip, stack_mac, port = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), int(sys.argv[3])
        me_ip, me_mac = socket.inet_aton("10.99.0.50"), bytes.fromhex("02005e990050")
        st_ip = socket.inet_aton(stack_ip)
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        s.bind(("tap0", 0))
        def csum(b):
            if len(b) % 2: b += b"\0"
            v = sum(struct.unpack("!%dH" % (len(b) // 2), b))
            while v >> 16: v = (v & 0xFFFF) + (v >> 16)
            return ~v & 0xFFFF
        def fail(msg):
            print("FAIL", msg); sys.exit(1)
        def tcp(seq, ack, flags, payload=b"", opts=b"", win=65535):
            hl = 20 + len(opts)
            h = struct.pack("!HHIIBBHHH", 40000, port, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (hl // 4) << 4, flags, win, 0, 0) + opts
            pseudo = me_ip + st_ip + struct.pack("!BBH", 0, 6, hl + len(payload))
            h = h[:16] + struct.pack("!H", csum(pseudo + h + payload)) + h[18:]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + hl + len(payload), random.getrandbits(16), 0x4000, 64, 6, 0, me_ip, st_ip)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            s.send(stack_mac + me_mac + b"\x08\x00" + ip + h + payload)
        def frames(seconds, first=False):
            """Segments from the stack to us within `seconds` (or the first one), answering ARP."""
            out, end = [], time.time() + seconds
            while True:
                left = end - time.time()
                if left <= 0: return out
                s.settimeout(left)
                try: f = s.recv(65536)
                except socket.timeout: return out
                if f[6:12] != stack_mac: continue
                kind = f[12:14]
                if kind == b"\x08\x06" and f[38:42] == me_ip and f[20:22] == b"\x00\x01":
                    reply = f[6:12] + me_mac + b"\x08\x06" + f[14:20] + b"\x00\x02" + me_mac + me_ip + f[22:28] + f[28:32]
                    s.send(reply)
                elif kind == b"\x08\x00" and f[23] == 6 and f[30:34] == me_ip:
                    ihl = (f[14] & 15) * 4
                    t = f[14 + ihl:]
                    sp, dp, seq, ack, off, fl, win = struct.unpack("!HHIIBBH", t[:16])
                    if dp != 40000: continue
                    out.append(dict(seq=seq, ack=ack, flags=fl, win=win, opts=t[20:(off >> 4) * 4], data=t[(off >> 4) * 4:]))
                    if first: return out
        def one(seconds, what):
            got = frames(seconds, first=True)
            if not got: fail("no answer to " + what)
            return got[-1]
        def pattern(offset, n): return bytes(((offset + i) * 7) & 0xFF for i in range(n))
        # Handshake: MSS 1460 and window scale 7 offered; no timestamps, no SACK.
        iss = 1_000_000
        tcp(iss, 0, 0x02, opts=b"\x02\x04\x05\xb4\x01\x03\x03\x07")
        sa = one(3, "the SYN")
        if sa["flags"] & 0x12 != 0x12: fail("no SYN,ACK: %r" % sa)
        o, shift = sa["opts"], None
        i = 0
        while i < len(o):
            if o[i] == 0: break
            if o[i] == 1: i += 1; continue
            if o[i] == 3: shift = o[i + 2]
            i += o[i + 1]
        if shift is None: fail("the SYN,ACK carries no window scale")
        irs = sa["seq"]
        edge = 0                  # stream offset of the right edge told (RFC 9293 §3.10.7.4: RCV.NXT+RCV.WND)
        def update(seg):
            global edge
            if seg["flags"] & 0x02: return  # a SYN,ACK again: its window is not scaled
            e = (seg["ack"] - iss - 1) % 2**32 + (seg["win"] << shift)
            if e < edge: fail("the right edge told moved left: %d after %d (%r)" % (e, edge, {k: v for k, v in seg.items() if k != "data"}))
            edge = e
            hist.append((seg["ack"] - iss - 1, seg["win"], e))
        hist = []
        tcp(iss + 1, irs + 1, 0x10, win=65535 >> 7)
        edge = sa["win"]          # the SYN,ACK's window is never scaled (RFC 7323 §2.2)
        # Fill the window told, 999 bytes a segment, but leave 720 bytes of it open.
        sent = 0
        for _ in range(1000):
            room = edge - sent - 720
            if room <= 0: break
            n = min(999, room)
            tcp(iss + 1 + sent, irs + 1, 0x10, pattern(sent, n), win=512)
            sent += n
            if sent % 9990 < 999 or room <= 999:
                for seg in frames(0.15): update(seg)
        for seg in frames(0.3): update(seg)
        inside = edge - sent
        if inside <= 0: fail("the window closed early: edge %d, sent %d" % (edge, sent))
        # 1. A segment straddling the right edge by 100 bytes: trimmed at the edge told (or dropped).
        tcp(iss + 1 + sent, irs + 1, 0x10, pattern(sent, inside + 100), win=512)
        a = one(1, "the straddling segment")
        acked = (a["ack"] - iss - 1) % 2**32
        if acked != sent + inside: fail("%d bytes inside the window, %d acknowledged (sent %d, told %r, answer %r)" % (inside, acked - sent, sent, hist[-6:], (acked, a["win"])))
        update(a)
        sent = acked
        print("straddle: the %d of %d bytes inside the window acknowledged" % (inside, inside + 100))
        if edge != sent: fail("the window is not closed after the edge: %d beyond" % (edge - sent))
        time.sleep(0.6)           # out-of-window ACKs are rate-limited per connection
        # 2. A one-byte zero-window probe: the unchanged ACK and window 0.
        tcp(iss + 1 + sent, irs + 1, 0x10, pattern(sent, 1), win=512)
        p = one(1, "the zero-window probe")
        if (p["ack"] - iss - 1) % 2**32 != sent or p["win"] != 0: fail("probe answered with ack +%d window %d" % ((p["ack"] - iss - 1 - sent) % 2**32, p["win"]))
        print("probe: ack unchanged, window 0")
        time.sleep(0.6)
        # 3. Data beyond the edge: not acceptable, so an ACK in reply (RFC 9293 §3.10.7.4).
        tcp(iss + 1 + sent + 100, irs + 1, 0x10, pattern(sent + 100, 100), win=512)
        b = one(1, "data beyond the edge")
        if (b["ack"] - iss - 1) % 2**32 != sent or b["win"] != 0: fail("beyond-edge answered with ack +%d window %d" % ((b["ack"] - iss - 1 - sent) % 2**32, b["win"]))
        print("beyond: ack unchanged, window 0")
        print("acknowledged %d" % sent)
        sys.stdout.flush()
        # Keep the connection alive (answer ARP) while the test reads, then reset it.
        frames(float(sys.argv[4]) if len(sys.argv) > 4 else 3)
        tcp(iss + 1 + sent, 0, 0x04)
        """#
}
