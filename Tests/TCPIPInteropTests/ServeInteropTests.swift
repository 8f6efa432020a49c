import Foundation
import Testing

/// `tcpip serve` as a program: its pcap file, and how it fails.
@Suite(
    "tcpip serve",
    .enabled(if: InteropEnvironment.isAvailable, "needs root, iproute2, python3, /dev/net/tun and the tcpip binary"),
    .timeLimit(.minutes(5))
)
struct ServeInteropTests {
    /// The `--pcap` file of a session with ARP, ICMP echo, UDP (fragmented too) and an ICMP
    /// port unreachable opens in tshark with no malformed frame and no bad checksum.
    @Test(
        .enabled(if: InteropEnvironment.hasTshark, "needs tshark"),
        .enabled(if: InteropEnvironment.hasPing, "needs ping")
    )
    func pcapOpensCleanlyInTshark() async throws {
        try await Namespace.with { ns in
            let pcap = "\(ns.directory)/capture.pcap"
            let stack = try await ns.startStack(["--udp-echo", "7", "--pcap", pcap])
            let ping = try await ns.run([
                "ping", "-c", "2", "-i", "0.2", "-W", "2", "-s", "2000", Namespace.stackAddress,
            ])
            #expect(ping.status == 0, "\(ping)")
            let udp = try await ns.python(Scripts.udpEchoClient, [Namespace.stackAddress, "7", "0,100,3000"])
            #expect(udp.status == 0, "\(udp)")
            let refused = try await ns.python(Scripts.udpConnectionRefused, [Namespace.stackAddress, "9"])
            #expect(refused.status == 0, "\(refused)")
            #expect(await stack.stop() == 0, "SIGTERM should end serve with 0; stderr: \(stack.command.stderr)")

            // Wireshark always verifies ICMP checksums; IP's and UDP's only when asked.
            let checksums = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"]
            let verbose = try await Command.run(
                ["tshark", "-n", "-r", pcap, "-V"] + checksums,
                directory: ns.directory
            )
            #expect(verbose.status == 0, "\(verbose.stderr)")
            #expect(
                !verbose.stdout.lowercased().contains("malformed"),
                "\(excerpt(verbose.stdout, around: "alformed"))"
            )
            #expect(!verbose.stdout.contains("Status: Bad"), "\(excerpt(verbose.stdout, around: "Status: Bad"))")
            let fields = try await Command.run(
                ["tshark", "-n", "-r", pcap, "-T", "fields", "-e", "frame.protocols"],
                directory: ns.directory
            )
            #expect(fields.status == 0, "\(fields.stderr)")
            let lines = fields.stdout.split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("eth:ethertype:arp") }, "\(fields.stdout)")
            #expect(lines.contains { $0.contains(":icmp") }, "\(fields.stdout)")
            #expect(lines.contains { $0.contains(":udp") }, "\(fields.stdout)")
            #expect(lines.count >= 10, "\(fields.stdout)")
        }
    }

    /// Each misuse prints exactly one line on stderr and exits non-zero: a TAP that another
    /// process holds, a malformed address, the same echo port twice.
    @Test func errorsAreOneLineAndNonZero() async throws {
        let binary = try #require(InteropEnvironment.tcpipBinary, "the suite is enabled only with the tcpip binary")
        try await Namespace.with { ns in
            let base = [binary, "serve", "--tap", "tap0"]
            let badAddress = try await ns.run(base + ["--address", "10.99.0.300/24"], timeout: 10)
            expectOneLineFailure(badAddress, "a malformed --address")
            let twice = try await ns.run(
                base + ["--address", "\(Namespace.stackAddress)/24", "--udp-echo", "7", "--udp-echo", "7"],
                timeout: 10
            )
            expectOneLineFailure(twice, "--udp-echo 7 twice")

            let first = try await ns.startStack()
            let second = try await ns.run(base + ["--address", "10.99.0.3/24"], timeout: 10)
            expectOneLineFailure(second, "a TAP another process is attached to")
            #expect(first.isRunning, "the first stack must survive the second's failure")
            #expect(await first.stop() == 0)
        }
    }

    private func expectOneLineFailure(
        _ r: CommandResult,
        _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(!r.timedOut, "\(what): still running at its deadline", sourceLocation: sourceLocation)
        #expect(r.status != 0, "\(what) should exit non-zero: \(r)", sourceLocation: sourceLocation)
        var text = r.stderr
        if text.hasSuffix("\n") { text.removeLast() }
        #expect(
            !text.isEmpty && !text.contains("\n"),
            "\(what): want exactly one stderr line: \(r)",
            sourceLocation: sourceLocation
        )
        #expect(!r.stdout.contains("ready"), "\(what): printed ready: \(r)", sourceLocation: sourceLocation)
    }

    private func excerpt(_ text: String, around needle: String) -> String {
        guard let range = text.range(of: needle) else { return "" }
        let start = text.index(range.lowerBound, offsetBy: -600, limitedBy: text.startIndex) ?? text.startIndex
        let end = text.index(range.upperBound, offsetBy: 200, limitedBy: text.endIndex) ?? text.endIndex
        return String(text[start..<end])
    }
}
