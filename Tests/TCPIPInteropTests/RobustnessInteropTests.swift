import Foundation
import Testing

/// The defects the wire-level suite found (issue 7), over TAP against Linux: a pending error
/// that must not reach a later socket with the same descriptor, and a reassembly table that
/// must keep accepting under a flood of incomplete datagrams.
@Suite(
    "Robustness with the Linux kernel",
    .enabled(if: InteropEnvironment.isAvailable, "needs root, iproute2, python3, /dev/net/tun and the tcpip binary"),
    .timeLimit(.minutes(3))
)
struct RobustnessInteropTests {
    /// Defect 1: a UDP socket sends to an address on the link that never answers ARP and is
    /// closed; the next socket, handed the same descriptor, sees no EHOSTUNREACH — and an
    /// unconnected socket reports no asynchronous error at all (RFC 1122 §4.1.3.3, as Linux
    /// without IP_RECVERR).
    @Test func anARPFailureReachesNoLaterSocketWithTheSameDescriptor() async throws {
        try await Namespace.with { ns in
            let path = "\(ns.directory)/control.sock"
            let stack = try await ns.startStack(["--control", path])
            let c = try await stack.control()
            let first = try #require(try await c.call(["op": "socket", "type": "dgram"])["fd"] as? Int)
            let sent = try await c.call([
                "op": "sendto", "fd": first, "data": Data("anyone?".utf8).base64EncodedString(),
                "address": "10.99.0.77", "port": 9,
            ])
            #expect(sent.ok, "\(sent)")
            #expect(try await c.call(["op": "close", "fd": first]).ok)
            let second = try #require(try await c.call(["op": "socket", "type": "dgram"])["fd"] as? Int)
            #expect(second == first, "the descriptor number is reused")
            #expect(try await c.call(["op": "bind", "fd": second, "port": 4001]).ok)
            // ARP gives up after 3 requests a second apart; wait past it.
            await pause(milliseconds: 4500)
            let got = try await c.call(["op": "recvfrom", "fd": second, "max": 100, "timeout_ms": 200])
            #expect(got.errorName == "EAGAIN", "\(got)")
            let error = try await c.call(["op": "getsockopt", "fd": second, "option": "SO_ERROR"])
            #expect(error.ok && error["value"] is NSNull, "\(error)")
            let stats = try StackStats(try await c.call(["op": "stats"]))
            #expect(stats.drops("arp")["resolution_failed"] ?? 0 >= 1, "\(stats.dropSummary)")
            #expect(await stack.stop() == 0)
        }
    }

    /// Defect 2: 1000 incomplete fragmented datagrams (first 16 bytes each, distinct IDs) from
    /// a raw socket; then python3 sends a 4000-byte datagram (the kernel fragments it) to the
    /// UDP echo service, and the echo comes back whole. Evictions are counted.
    @Test func reassemblyKeepsAcceptingAfterAFloodOfIncompleteDatagrams() async throws {
        try await Namespace.with { ns in
            let path = "\(ns.directory)/control.sock"
            let stack = try await ns.startStack(["--udp-echo", "7", "--control", path])
            let junk = try await ns.python(Self.junkFragments, [Namespace.stackAddress, "1000"], timeout: 30)
            #expect(junk.status == 0, "\(junk)")
            let echo = try await ns.python(Self.bigEcho, [Namespace.stackAddress, "7", "4000"], timeout: 30)
            #expect(echo.status == 0, "\(echo)")
            #expect(echo.stdout.contains("echoed 4000 bytes"), "\(echo)")
            let stats = try StackStats(try await stack.control().call(["op": "stats"]))
            #expect(stats.counter("ip", "reassembly_evictions") > 0, "\(stats.layers["ip"] ?? [:])")
            #expect(stats.counter("ip", "datagrams_reassembled") >= 1, "\(stats.layers["ip"] ?? [:])")
            #expect(await stack.stop() == 0)
        }
    }

    /// argv: address count. `count` first fragments (16 bytes of UDP, MF set) with distinct IDs.
    static let junkFragments = #"""
        import socket, struct, sys
        dst, count = sys.argv[1], int(sys.argv[2])
        def csum(b):
            s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
            while s >> 16: s = (s & 0xFFFF) + (s >> 16)
            return ~s & 0xFFFF
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        src, d = socket.inet_aton("10.99.0.1"), socket.inet_aton(dst)
        for i in range(count):
            body = struct.pack("!HHHH", 5000, 9999, 1008, 0) + b"\xAA" * 8
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 20000 + i, 0x2000, 64, 17, 0, src, d)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            s.sendto(ip + body, (dst, 0))
        print("sent", count)
        """#

    /// argv: address port size. One datagram of `size` bytes to the echo service, three tries.
    static let bigEcho = #"""
        import socket, sys
        dst, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        payload = bytes((i * 7) & 0xFF for i in range(size))
        for attempt in range(3):
            s.sendto(payload, (dst, port))
            try:
                got, _ = s.recvfrom(65536)
            except socket.timeout:
                continue
            if got == payload:
                print("echoed %d bytes" % len(got))
                sys.exit(0)
            print("wrong echo of %d bytes" % len(got))
        sys.exit(1)
        """#
}
