import Foundation
import Testing

/// UDP with Linux's sockets: the stack's echo service, port unreachable, and loss.
@Suite(
    "UDP with the Linux kernel",
    .enabled(if: InteropEnvironment.isAvailable, "needs root, iproute2, python3, /dev/net/tun and the tcpip binary"),
    .timeLimit(.minutes(5))
)
struct UDPInteropTests {
    /// A python3 client exchanges datagrams with `--udp-echo 7`: empty, small, one that fills
    /// the MTU, and 3000 bytes (fragmented by Linux on the way in and by the stack on the way out).
    @Test func pythonClientTalksToTheEchoService() async throws {
        try await Namespace.with { ns in
            let stack = try await ns.startStack(["--udp-echo", "7"])
            let r = try await ns.python(
                Scripts.udpEchoClient,
                [Namespace.stackAddress, "7", "0,1,56,1472,3000,0,1473"],
                timeout: 30
            )
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains("all 7 echoed"), "\(r)")
            #expect(stack.isRunning)
            #expect(await stack.stop() == 0)
        }
    }

    /// A datagram to a closed port draws an ICMP port unreachable, which Linux turns into
    /// ECONNREFUSED on the connected socket's next call (RFC 1122 §4.1.3.1).
    @Test func aClosedPortRefusesAConnectedSocket() async throws {
        try await Namespace.with { ns in
            let stack = try await ns.startStack(["--udp-echo", "7"])
            let r = try await ns.python(Scripts.udpConnectionRefused, [Namespace.stackAddress, "9"], timeout: 20)
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains("ECONNREFUSED"), "\(r)")
            #expect(await stack.stop() == 0)
        }
    }

    /// With the fault injector dropping 10 % of frames both ways, a client that retries still
    /// gets every echo back, intact.
    @Test func echoSurvivesInjectedLoss() async throws {
        try await Namespace.with { ns in
            let stack = try await ns.startStack(["--udp-echo", "7", "--loss", "0.1", "--fault-seed", "7"])
            let r = try await ns.python(Scripts.udpEchoWithRetries, [Namespace.stackAddress, "7", "60"], timeout: 90)
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains("all 60 echoed"), "\(r)")
            #expect(stack.isRunning)
            #expect(await stack.stop() == 0)
        }
    }
}

/// The python3 programs that play Linux's side.
enum Scripts {
    /// argv: address port sizes(comma-separated). Sends each payload and expects it back.
    static let udpEchoClient = #"""
        import socket, sys
        address, port = sys.argv[1], int(sys.argv[2])
        sizes = [int(x) for x in sys.argv[3].split(",")]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        for i, n in enumerate(sizes):
            payload = bytes((i * 31 + k * 7) & 0xFF for k in range(n))
            s.sendto(payload, (address, port))
            data, peer = s.recvfrom(65535)
            if data != payload or peer != (address, port):
                print(f"datagram {i}: sent {n} bytes, got {len(data)} bytes from {peer}")
                sys.exit(1)
            print(f"datagram {i}: {n} bytes echoed")
        print(f"all {len(sizes)} echoed")
        """#

    /// argv: address closed-port. A connected socket must see ECONNREFUSED after the first send.
    static let udpConnectionRefused = #"""
        import socket, sys, time
        address, port = sys.argv[1], int(sys.argv[2])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.connect((address, port))
        s.send(b"is anybody there?")
        try:
            data = s.recv(100)
            print(f"unexpected reply {data!r}")
            sys.exit(1)
        except ConnectionRefusedError:
            print("ECONNREFUSED on recv")
        except socket.timeout:
            print("timed out: no port unreachable arrived")
            sys.exit(1)
        # Once more, seen on send or recv this time (the error is reported once per ICMP).
        try:
            s.send(b"still nobody?")
            time.sleep(0.5)
            s.recv(100)
            print("unexpected reply on the second try")
            sys.exit(1)
        except ConnectionRefusedError:
            print("ECONNREFUSED again")
        except socket.timeout:
            print("timed out on the second try")
            sys.exit(1)
        """#

    /// argv: address port count. Each datagram carries its number; retried until echoed.
    static let udpEchoWithRetries = #"""
        import socket, sys, random
        address, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        rng = random.Random(7)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.25)
        tries_total = 0
        for i in range(count):
            size = 3000 if i % 15 == 0 else rng.randrange(8, 1400)
            payload = i.to_bytes(4, "big") + bytes(rng.randrange(256) for _ in range(size - 4))
            for attempt in range(40):
                tries_total += 1
                s.sendto(payload, (address, port))
                got = False
                # Drain: stale echoes of earlier tries may arrive first.
                for _ in range(8):
                    try:
                        data, peer = s.recvfrom(65535)
                    except socket.timeout:
                        break
                    if data == payload:
                        got = True
                        break
                    if data[:4] == payload[:4]:
                        print(f"datagram {i}: corrupted echo ({len(data)} bytes)")
                        sys.exit(1)
                if got:
                    break
            else:
                print(f"datagram {i} ({size} bytes): no echo after 40 tries")
                sys.exit(1)
        print(f"all {count} echoed in {tries_total} sends")
        """#

    /// argv: bind-address port. Answers one datagram with "pong:" + data.
    static let udpPongServer = #"""
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((sys.argv[1], int(sys.argv[2])))
        s.settimeout(60)  # generous: the test may be slow to send when the machine is loaded
        print("ready", flush=True)
        for _ in range(2):
            data, peer = s.recvfrom(65535)
            s.sendto(b"pong:" + data, peer)
            print(f"got {len(data)} bytes from {peer[0]}:{peer[1]}", flush=True)
        """#
}
