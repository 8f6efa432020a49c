import ArgumentParser
import Foundation
import TCPIP
import TCPIPCore
import TCPIPDrivers

/// `tcpip get`: an HTTP/1.1 client over the stack — the seed's "browser". It fetches one URL
/// through a TAP interface and writes the body to a file or stdout.
struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Fetch a URL over HTTP/1.1 through the stack, like a minimal curl.",
        discussion: """
            The host must be a dotted quad (there is no DNS). The body goes to --output or
            stdout; one summary line (status, bytes, seconds, Mbit/s) goes to stderr. Exits 0
            for a complete response with status below 400, 1 otherwise (HTTP error, connection
            error, truncated body), and 1 on SIGINT or SIGTERM.
            """
    )

    @OptionGroup var interface: InterfaceOptions

    @Argument(help: ArgumentHelp("The URL to fetch: http://A.B.C.D[:PORT][/PATH].", valueName: "url"))
    var url: String?

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write the body to this file.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("Give up after this many seconds (default: no limit).", valueName: "seconds"))
    var maxTime: String?

    @OptionGroup(title: "Fault injection") var faults: FaultOptions

    func run() throws {
        TerminationSignals.block()
        try reportingFailures(get)
    }

    /// The parts of an `http://` URL.
    struct Target {
        var address: IPv4Address
        var port: UInt16
        var hostField: String
        var path: String
    }

    static func parse(_ url: String) throws(ToolFailure) -> Target {
        guard url.lowercased().hasPrefix("http://") else {
            throw ToolFailure("invalid URL '\(url)': only http://A.B.C.D[:PORT]/PATH is supported")
        }
        let rest = url.dropFirst(7)
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<slash]
        var path = String(rest[slash...])
        if path.isEmpty || path.first == "?" { path = "/" + path }
        guard !authority.contains("@") else {
            throw ToolFailure("invalid URL '\(url)': user information is not supported")
        }
        if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
        guard !path.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 32 || $0 == 127 } ?? false }) else {
            throw ToolFailure("invalid URL '\(url)': the path has spaces or control characters; escape them as %XX")
        }
        let hostPort = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPv4Address(String(hostPort[0])) else {
            throw ToolFailure("invalid URL '\(url)': the host must be an IPv4 address A.B.C.D (there is no DNS)")
        }
        var port: UInt16 = 80
        if hostPort.count == 2 {
            port = try Parse.integer(String(hostPort[1]), "port in URL", in: 1...65535)
        }
        return Target(
            address: address,
            port: port,
            hostField: port == 80 ? "\(address)" : "\(address):\(port)",
            path: path
        )
    }

    func get() throws(ToolFailure) -> Int32 {
        guard let url else { throw ToolFailure("get: missing URL: http://A.B.C.D[:PORT]/PATH") }
        let target = try Self.parse(url)
        let limit = try maxTime.map { (s) throws(ToolFailure) in Int64(try Parse.seconds(s, "--max-time") * 1e9) }
        let (host, _) = try interface.makeHost(faults: faults)

        var fd: Int32 = 1
        let outputName = output ?? "stdout"
        if let output {
            fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw ToolFailure("cannot open -o \(output): \(String(cString: strerror(errno)))")
            }
        }
        defer { if fd != 1 { _ = close(fd) } }

        // 512 KiB asked, 1 MiB granted (setsockopt doubles): room for a fast sender's window.
        let app = HTTPGetApplication(
            address: target.address,
            port: target.port,
            host: target.hostField,
            path: target.path,
            output: fd,
            outputName: outputName,
            receiveBuffer: 512 * 1024
        )
        let result = app.result
        host.add(app)
        do {
            try host.start()
        } catch {
            throw ToolFailure(error.message)
        }
        let start = MonotonicClock.now()
        var interrupted: Int32?
        var timedOut = false
        while result.outcome == nil {
            if let limit, MonotonicClock.now().nanoseconds(since: start) >= limit {
                timedOut = true
                break
            }
            if let s = TerminationSignals.wait(nanoseconds: 20_000_000) {
                interrupted = s
                break
            }
        }
        host.stop()
        if let interrupted {
            throw ToolFailure("get \(url): interrupted by \(TerminationSignals.name(of: interrupted))")
        }
        if timedOut { throw ToolFailure("get \(url): no complete response within \(maxTime ?? "")s") }
        let o = result.outcome!
        if let error = o.error { throw ToolFailure(error) }
        let seconds = Double(o.nanoseconds) / 1e9
        let rate = seconds > 0 ? Double(o.bodyBytes) * 8 / seconds / 1e6 : 0
        let status = o.status ?? 0
        Output.err(
            "\(status) \(o.reason): \(o.bodyBytes) bytes in \(String(format: "%.3f", seconds)) s, \(String(format: "%.1f", rate)) Mbit/s"
        )
        return status >= 400 ? 1 : 0
    }
}
