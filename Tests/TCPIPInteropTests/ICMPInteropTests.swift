import Foundation
import Testing

/// ICMP echo across the TAP link, both ways: Linux pings the stack, and the stack pings Linux.
@Suite(
    "ICMP echo with the Linux kernel",
    .enabled(if: InteropEnvironment.isAvailable, "needs root, iproute2, python3, /dev/net/tun and the tcpip binary"),
    .enabled(if: InteropEnvironment.hasPing, "needs ping (iputils-ping)"),
    .timeLimit(.minutes(5))
)
struct ICMPInteropTests {
    /// Linux's ping gets every reply, intact, for payloads from 0 bytes to 4000 (which is
    /// fragmented by Linux and reassembled by the stack, and fragmented back by the stack).
    @Test(arguments: [0, 56, 1472, 4000])
    func linuxPingsTheStack(payload: Int) async throws {
        try await Namespace.with { ns in
            let stack = try await ns.startStack()
            let r = try await ns.run(
                ["ping", "-c", "3", "-s", "\(payload)", "-W", "2", "-i", "0.2", Namespace.stackAddress],
                timeout: 20
            )
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains("3 received"), "\(r)")
            #expect(!r.stdout.contains("wrong data"), "\(r)")
            #expect(!r.stdout.contains("DUP"), "\(r)")
            if payload >= 16 {
                // iputils prints "N bytes from …" with the ICMP length (payload + 8).
                #expect(r.stdout.contains("\(payload + 8) bytes from \(Namespace.stackAddress)"), "\(r)")
            }
            #expect(stack.isRunning)
            #expect(await stack.stop() == 0, "tcpip serve should exit 0 on SIGTERM; stderr: \(stack.command.stderr)")
        }
    }

    /// `tcpip ping` inside the namespace pings Linux and gets every reply.
    @Test(arguments: [56, 4000])
    func theStackPingsLinux(payload: Int) async throws {
        let binary = try #require(InteropEnvironment.tcpipBinary, "the suite is enabled only with the tcpip binary")
        try await Namespace.with { ns in
            let r = try await ns.run(
                [
                    binary, "ping", "--tap", "tap0", "--address", "\(Namespace.stackAddress)/24",
                    Namespace.linuxAddress,
                    "-c", "3", "-s", "\(payload)", "-i", "0.2",
                ],
                timeout: 30
            )
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains("3 received"), "\(r)")
            #expect(!r.stdout.contains("wrong data"), "\(r)")
            #expect(!r.stdout.contains("DUP"), "\(r)")
            #expect(r.stdout.contains("from \(Namespace.linuxAddress)"), "\(r)")
        }
    }

    /// `tcpip ping` to an address nobody holds gets no reply and exits non-zero.
    @Test func pingingNobodyExitsNonZero() async throws {
        let binary = try #require(InteropEnvironment.tcpipBinary, "the suite is enabled only with the tcpip binary")
        try await Namespace.with { ns in
            let r = try await ns.run(
                [
                    binary, "ping", "--tap", "tap0", "--address", "\(Namespace.stackAddress)/24", "10.99.0.9",
                    "-c", "2", "-i", "0.2",
                ],
                timeout: 30
            )
            #expect(!r.timedOut, "\(r)")
            #expect(r.status != 0, "\(r)")
            #expect(r.stdout.contains("0 received"), "\(r)")
        }
    }
}
