import ArgumentParser
import TCPIP
import TCPIPCore
import TCPIPDrivers

/// `tcpip serve`: runs the stack on a TAP interface until SIGINT or SIGTERM, answering ARP and
/// ping, running the services asked for, and taking socket calls on a control socket.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the stack on a TAP interface until SIGINT or SIGTERM.",
        discussion: """
            Prints one line containing "ready" once the stack is receiving, then serves: ARP,
            ping, the services given, and socket calls from other programs on the --control
            socket (see CONTROL-PROTOCOL.md). On SIGINT or SIGTERM it stops, flushes the pcap
            file and exits 0.
            """
    )

    @OptionGroup var interface: InterfaceOptions

    @Option(help: ArgumentHelp("Take socket calls on a Unix socket at this path.", valueName: "path"))
    var control: String?

    @Option(
        help: ArgumentHelp(
            "The longest --control request line (default 1048576); a longer one gets EMSGSIZE.",
            valueName: "bytes"
        )
    )
    var controlMaxLine: String?

    @Option(
        help: ArgumentHelp(
            "Unread reply bytes held for a --control client before it is hung up on (default 4194304).",
            valueName: "bytes"
        )
    )
    var controlMaxQueued: String?

    @Option(
        help: ArgumentHelp(
            "--control clients at once (default 1024); one more gets EUSERS and is hung up on.",
            valueName: "count"
        )
    )
    var controlMaxClients: String?

    @Option(help: ArgumentHelp("Run a UDP echo service (RFC 862) on this port; may be repeated.", valueName: "port"))
    var udpEcho: [String] = []

    @Option(help: ArgumentHelp("Run a TCP echo service (RFC 862) on this port; may be repeated.", valueName: "port"))
    var tcpEcho: [String] = []

    @Option(help: ArgumentHelp("Run a TCP discard service (RFC 863) on this port; may be repeated.", valueName: "port"))
    var tcpDiscard: [String] = []

    @Option(help: ArgumentHelp("Run an HTTP/1.1 server on this port; may be repeated.", valueName: "port"))
    var http: [String] = []

    @Option(
        help: ArgumentHelp(
            "The largest --http request head (default 16384); a larger one gets 431.",
            valueName: "bytes"
        )
    )
    var httpMaxHeaderBytes: String?

    @Option(
        help: ArgumentHelp(
            "Seconds an --http request head may take from its first byte (default 30); then 408.",
            valueName: "seconds"
        )
    )
    var httpHeaderTimeout: String?

    @Option(
        help: ArgumentHelp(
            "Seconds an --http connection may make no progress before it is closed (default 60).",
            valueName: "seconds"
        )
    )
    var httpIdleTimeout: String?

    @Option(
        help: ArgumentHelp(
            "The directory --http serves (default: a built-in page and /bytes/N).",
            valueName: "dir"
        )
    )
    var root: String?

    @Flag(help: "Print every trace event of the stack to stderr.")
    var trace = false

    @OptionGroup(title: "Fault injection") var faults: FaultOptions

    @OptionGroup(title: "Limits") var limits: LimitOptions

    func run() throws {
        // Before any thread starts, so every thread inherits the mask and only `wait` below
        // ever takes these signals.
        TerminationSignals.block()
        try reportingFailures(serve)
    }

    func serve() throws(ToolFailure) -> Int32 {
        let apps = try applications()
        let serverLimits = try controlLimits()
        let (host, iface) = try interface.makeHost(faults: faults, limits: limits)
        if trace {
            host.trace { event in Output.err("trace: \(event)") }
        }
        for app in apps { host.add(app) }
        do {
            try host.start()
        } catch {
            throw ToolFailure("\(error.message) (\(error.name))")
        }
        var server: ControlServer?
        if let control {
            var sink: (@Sendable (ControlEvent) -> Void)?
            if trace { sink = Self.traceLine }
            do {
                server = try ControlServer(
                    host: host,
                    path: control,
                    limits: serverLimits,
                    trace: sink
                )
            } catch {
                host.stop()
                throw ToolFailure("--control: \(error.description)")
            }
            server?.start()
        }
        Output.out("ready: \(iface.name) mac \(iface.mac) address \(iface.network) mtu \(iface.mtu)")
        _ = TerminationSignals.wait()
        server?.stop()
        host.stop()
        return 0
    }

    /// Prints one trace line to stderr.
    @Sendable static func traceLine(_ event: ControlEvent) { Output.err("trace: \(event)") }

    /// The control server's limits, from the flags (checked before the TAP interface is touched).
    func controlLimits() throws(ToolFailure) -> ControlLimits {
        var limits = ControlLimits()
        if let text = controlMaxLine {
            limits.maxLineBytes = try Parse.integer(text, "--control-max-line", in: 1...Int(Int32.max))
        }
        if let text = controlMaxQueued {
            limits.maxQueuedBytes = try Parse.integer(text, "--control-max-queued", in: 0...Int(Int32.max))
        }
        if let text = controlMaxClients {
            limits.maxClients = try Parse.integer(text, "--control-max-clients", in: 1...1_000_000)
        }
        return limits
    }

    /// The HTTP servers' limits, from the flags.
    func httpLimits() throws(ToolFailure) -> HTTPServerLimits {
        var limits = HTTPServerLimits()
        if let text = httpMaxHeaderBytes {
            limits.maxHeadBytes = try Parse.integer(text, "--http-max-header-bytes", in: 64...(64 << 20))
        }
        if let text = httpHeaderTimeout {
            limits.headerTimeout = try Self.timeout(text, "--http-header-timeout")
        }
        if let text = httpIdleTimeout {
            limits.idleTimeout = try Self.timeout(text, "--http-idle-timeout")
        }
        return limits
    }

    /// A timeout flag: seconds (fractions allowed, at least a millisecond), in nanoseconds.
    static func timeout(_ text: String, _ flag: String) throws(ToolFailure) -> Int64 {
        let seconds = try Parse.seconds(text, flag)
        guard seconds >= 0.001 else { throw ToolFailure("invalid \(flag) '\(text)': at least 0.001 seconds") }
        return Int64(seconds * 1e9)
    }

    /// The services asked for, in order (checked before the TAP interface is touched).
    func applications() throws(ToolFailure) -> [any HostApplication] {
        var apps: [any HostApplication] = []
        for text in udpEcho {
            apps.append(UDPEchoApplication(port: try Parse.integer(text, "--udp-echo", in: 1...65535)))
        }
        for text in tcpEcho {
            apps.append(TCPEchoApplication(port: try Parse.integer(text, "--tcp-echo", in: 1...65535)))
        }
        for text in tcpDiscard {
            apps.append(TCPDiscardApplication(port: try Parse.integer(text, "--tcp-discard", in: 1...65535)))
        }
        var resolvedRoot: String?
        if let root {
            guard !http.isEmpty else { throw ToolFailure("--root needs --http PORT") }
            switch HTTPServerApplication.resolveRoot(root) {
            case .success(let r): resolvedRoot = r
            case .failure(let e): throw ToolFailure("invalid --root: \(e.message)")
            }
        }
        let limits = try httpLimits()
        let sink: ((HTTPServerEvent) -> Void)? = trace ? { event in Output.err("trace: \(event)") } : nil
        for text in http {
            apps.append(
                HTTPServerApplication(
                    port: try Parse.integer(text, "--http", in: 1...65535),
                    root: resolvedRoot,
                    limits: limits,
                    trace: sink
                )
            )
        }
        return apps
    }
}
