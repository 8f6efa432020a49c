import Foundation
import Testing

extension InteropEnvironment {
    /// True when `curl` is installed too.
    static var hasCurl: Bool { isAvailable && which("curl") != nil }
}

/// HTTP/1.1 over the stack's TCP against Linux's: curl fetching from `serve --http`, and
/// `tcpip get` fetching from python's http.server. 100 MiB each way, checked by SHA-256.
///
/// Serialized: the two transfers are the heaviest of the interop tests, and on a small machine
/// they would only slow each other down.
@Suite(
    "TCP and HTTP with the Linux kernel",
    .enabled(if: InteropEnvironment.isAvailable, "needs root, iproute2, python3, /dev/net/tun and the tcpip binary"),
    .serialized,
    .timeLimit(.minutes(5))
)
struct TCPHTTPInteropTests {
    static let size = 100 << 20

    /// curl on Linux downloads a 100 MiB file from `serve --http 8080 --root DIR`, intact.
    @Test(.enabled(if: InteropEnvironment.hasCurl, "needs curl"))
    func curlFetchesAHundredMiBFromTheStack() async throws {
        try await Namespace.with { ns in
            let root = "\(ns.directory)/www"
            let want = try await TCPInterop.makeFile("\(root)/big.bin", size: Self.size, seed: 1, in: ns)
            let stack = try await ns.startStack(["--http", "8080", "--root", root])
            let out = "\(ns.directory)/curl.bin"
            let clock = ContinuousClock()
            let start = clock.now
            let curl = try await ns.run(
                [
                    "curl", "-sS", "--max-time", "60", "-o", out, "-w", "%{http_code} %{size_download}\\n",
                    "http://\(Namespace.stackAddress):8080/big.bin",
                ],
                timeout: 75
            )
            let took = clock.now - start
            print("TCPHTTPInterop: curl fetched 100 MiB from serve --http in \(took)")
            #expect(curl.status == 0, "\(curl)")
            #expect(curl.stdout.hasPrefix("200 \(Self.size)"), "\(curl)")
            let got = try await TCPInterop.sha256(of: out, in: ns)
            #expect(got.size == Self.size)
            #expect(got.hash == want, "the body differs from the file")
            #expect(stack.isRunning, "serve ended: \(stack.command.stderr)")
            #expect(await stack.stop() == 0)
        }
    }

    /// `tcpip get` downloads a 100 MiB file from `python3 -m http.server` on Linux, intact. It
    /// attaches to tap0 itself, so no `serve` runs alongside.
    @Test func tcpipGetFetchesAHundredMiBFromPython() async throws {
        let binary = try #require(InteropEnvironment.tcpipBinary, "the suite is enabled only with the tcpip binary")
        try await Namespace.with { ns in
            let root = "\(ns.directory)/www"
            let want = try await TCPInterop.makeFile("\(root)/big.bin", size: Self.size, seed: 2, in: ns)
            let server = try ns.start([
                "python3", "-u", "-m", "http.server", "8000", "--bind", Namespace.linuxAddress, "--directory", root,
            ])
            #expect(
                await server.waitForLine(containing: "Serving HTTP", timeout: 10),
                "http.server: \(server.stdout) \(server.stderr)"
            )
            let out = "\(ns.directory)/get.bin"
            let clock = ContinuousClock()
            let start = clock.now
            let get = try await ns.run(
                [
                    binary, "get", "--tap", "tap0", "--address", "\(Namespace.stackAddress)/24", "--mac",
                    Namespace.stackMAC, "--max-time", "60", "-o", out,
                    "http://\(Namespace.linuxAddress):8000/big.bin",
                ],
                timeout: 75
            )
            let took = clock.now - start
            print("TCPHTTPInterop: tcpip get fetched 100 MiB from python http.server in \(took): \(get.stderr)")
            #expect(get.status == 0, "\(get)")
            #expect(get.stderr.contains("200"), "\(get)")
            let got = try await TCPInterop.sha256(of: out, in: ns)
            #expect(got.size == Self.size)
            #expect(got.hash == want, "the body differs from the file")
            #expect(server.isRunning, "http.server ended: \(server.stderr)")
            await server.stop()
        }
    }
}
