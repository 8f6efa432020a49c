import ArgumentParser
import TCPIPCore

/// The stack's resource caps, as `serve` takes them: descriptors, connections and the buffer
/// memory connections may hold. Past a cap a call fails as Linux's would (EMFILE, ENOBUFS)
/// and a SYN is dropped; each refusal is counted in `stats` and traced.
struct LimitOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Socket descriptors at most (default 65536); past it: EMFILE.", valueName: "n"))
    var maxSockets: String?

    @Option(
        help: ArgumentHelp(
            "TCP connections at most, any state (default 65536); past it SYNs are dropped, connect fails with ENOBUFS.",
            valueName: "n"
        )
    )
    var maxConnections: String?

    @Option(
        help: ArgumentHelp(
            "Send plus receive buffer bytes of all connections at most, e.g. 512M or 4G (default 4G).",
            valueName: "bytes"
        )
    )
    var maxConnectionMemory: String?

    /// Applies the caps given to `configuration`; fails naming the first malformed value.
    func apply(to configuration: inout StackConfiguration) throws(ToolFailure) {
        if let maxSockets {
            configuration.maxSockets = try Parse.integer(maxSockets, "--max-sockets", in: 1...1_048_576)
        }
        if let maxConnections {
            configuration.tcp.maxConnections = try Parse.integer(maxConnections, "--max-connections", in: 1...4_194_304)
        }
        if let maxConnectionMemory {
            configuration.tcp.maxConnectionMemory = try Parse.bytes(maxConnectionMemory, "--max-connection-memory")
        }
    }
}

extension Parse {
    /// A byte count with an optional K, M or G suffix (powers of 1024), at least 1 KiB.
    static func bytes(_ text: String, _ flag: String) throws(ToolFailure) -> Int {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        var digits = text
        var unit = 1
        if let last = text.last?.uppercased().first, let u = units[last] {
            unit = u
            digits = String(text.dropLast())
        }
        guard let n = Int(digits), n > 0, n <= (1 << 50) / unit, n * unit >= 1024 else {
            throw ToolFailure("invalid \(flag) '\(text)': expected a byte count like 65536, 512M or 4G (at least 1K)")
        }
        return n * unit
    }
}
