import ArgumentParser
import Foundation
import Glibc
import TCPIP
import TCPIPCore
import TCPIPDrivers

/// `tcpip shell`: an interactive prompt for making socket calls by hand on a running
/// `tcpip serve --control PATH`, over the control protocol (CONTROL-PROTOCOL.md).
struct ShellCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell",
        abstract: "Make socket calls by hand on a running `tcpip serve --control PATH`.",
        discussion: """
            Reads one command per line from stdin (a terminal or a pipe) and makes the socket call \
            it names on the stack's own sockets: socket, bind, listen, accept, connect, write, read, \
            sendto, recvfrom, shutdown, close, setsockopt, getsockopt, poll, and netstat, info and \
            stats to look inside. Type `help` for the list. Text arguments go in double quotes, with \
            \\r \\n \\t \\\\ \\" \\xHH escapes; received text is shown the same way, binary data as hex.
            """
    )

    @Option(help: ArgumentHelp("The stack's control socket (serve --control).", valueName: "path"))
    var control: String = "/tmp/tcpip.sock"

    func run() throws {
        try reportingFailures(shell)
    }

    func shell() throws(ToolFailure) -> Int32 {
        let client: ControlClient
        do {
            client = try ControlClient(path: control)
        } catch {
            throw ToolFailure(error.description)
        }
        var session = ShellSession(client: client, interactive: isatty(0) != 0)
        return try session.run()
    }
}

/// A failed shell command: a mistake in the command line, or the stack's error for the call.
enum ShellError: Error {
    case usage(String)
    case call(Errno)
}

/// The shell's loop: read a line, split it into words, make the call, print the answer.
struct ShellSession {
    let client: ControlClient
    let interactive: Bool
    /// `timeout_ms` for the calls that wait.
    var timeout = 5000

    init(client: ControlClient, interactive: Bool) {
        self.client = client
        self.interactive = interactive
    }

    /// Runs until `quit` or the end of input; 0, or a `ToolFailure` when the stack goes away.
    mutating func run() throws(ToolFailure) -> Int32 {
        if interactive {
            Output.out("Connected to \(client.path). Type `help` for the commands, `quit` to leave.")
        }
        while true {
            if interactive { Self.prompt("tcpip> ") }
            guard let line = readLine(strippingNewline: true) else {
                if interactive { Output.out("") }
                return 0
            }
            let words: [[UInt8]]
            do throws(ShellWords.Mistake) {
                words = try ShellWords.split(line)
            } catch {
                Output.out("usage: \(error.text)")
                continue
            }
            guard let first = words.first else { continue }
            let command = String(decoding: first, as: UTF8.self).lowercased()
            if command == "quit" || command == "exit" { return 0 }
            let arguments = words.dropFirst().map { ShellArgument($0) }
            do throws(ControlClientError) {
                try perform(command, arguments)
            } catch {
                switch error {
                case .call(let e): Output.out("\(e.name): \(e.message)")
                case .connection: throw ToolFailure(error.description)
                }
            }
        }
    }

    static func prompt(_ text: String) {
        try? FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
    }

    // MARK: - Commands

    /// Makes one command; prints its result or its usage mistake. Fails with the stack's
    /// error or a lost connection.
    mutating func perform(_ command: String, _ a: [ShellArgument]) throws(ControlClientError) {
        do throws(ShellError) {
            try dispatch(command, a)
        } catch {
            switch error {
            case .usage(let text): Output.out("usage: \(text)")
            case .call(let e): throw .call(e)
            }
        }
    }

    /// The commands, with their usage lines, for `help`.
    static let commands: [(usage: String, what: String)] = [
        ("socket [stream|dgram]", "open a socket (default stream); prints its descriptor"),
        ("bind FD PORT [ADDR]", "bind to a port (0: ephemeral) and address (default 0.0.0.0)"),
        ("listen FD [BACKLOG]", "listen for connections (backlog default 128)"),
        ("accept FD", "wait for a connection; prints the new descriptor and the peer"),
        ("connect FD ADDR PORT", "connect (stream: the handshake; dgram: the default peer)"),
        ("write FD \"TEXT\"", "send all of TEXT (escapes: \\r \\n \\t \\\\ \\\" \\xHH)"),
        ("read FD [MAX]", "receive up to MAX bytes (default 65536)"),
        ("sendto FD ADDR PORT \"TEXT\"", "send a datagram"),
        ("recvfrom FD [MAX]", "receive a datagram and its sender"),
        ("shutdown FD read|write|both", "shut down one or both directions"),
        ("close FD", "close (follows SO_LINGER)"),
        ("getsockname FD / getpeername FD", "the local / remote address"),
        ("setsockopt FD NAME VALUE", "e.g. TCP_NODELAY on, SO_LINGER 5, SO_LINGER off, SO_RCVBUF 65536"),
        ("getsockopt FD NAME", "an option's effective value; SO_ERROR takes the pending error"),
        ("poll FD... [in] [out]", "wait until a descriptor is ready (default: in)"),
        ("netstat", "every socket and connection, like ss"),
        ("info FD", "a socket's control block, one field per line"),
        ("stats", "the stack's counters and drops, like netstat -s"),
        ("timeout [MS]", "show or set how long calls wait (timeout_ms; 0: do not wait)"),
        ("hello", "who the stack is"),
        ("help", "this list"),
        ("quit", "leave (so does end of input)"),
    ]

    mutating func dispatch(_ command: String, _ a: [ShellArgument]) throws(ShellError) {
        let t: (String, JSONValue) = ("timeout_ms", .int(timeout))
        switch command {
        case "help", "?":
            let width = Self.commands.map(\.usage.count).max() ?? 0
            for c in Self.commands {
                Output.out("  " + c.usage.padding(toLength: width + 2, withPad: " ", startingAt: 0) + c.what)
            }

        case "timeout":
            if let v = a.first {
                timeout = try v.integer("MS", in: 0...86_400_000)
            }
            Output.out("calls wait up to \(timeout) ms")

        case "hello":
            let r = try call("hello")
            Output.out("\(r.string("name") ?? "?") \(r.string("version") ?? "")")
            for i in r["interfaces"] as? [[String: Any]] ?? [] {
                let name = i["name"] as? String ?? "?"
                let address = i["address"] as? String ?? "?"
                let prefix = i["prefix"] as? Int ?? 0
                Output.out(
                    "  \(name): \(address)/\(prefix) mac \(i["mac"] as? String ?? "?") mtu \(i["mtu"] as? Int ?? 0)"
                )
            }

        case "socket":
            try Self.arity(a, 0...1, "socket [stream|dgram]")
            let type = a.first?.text.lowercased() ?? "stream"
            guard type == "stream" || type == "dgram" else { throw .usage("socket [stream|dgram]") }
            let r = try call("socket", [("type", .string(type))])
            Output.out("fd \(r.int("fd") ?? -1)")

        case "bind":
            try Self.arity(a, 2...3, "bind FD PORT [ADDR]")
            var args: [(String, JSONValue)] = [try a[0].fd(), ("port", .int(Int(try a[1].port())))]
            if a.count > 2 { args.append(("address", .string(try a[2].address().description))) }
            try call("bind", args)
            Output.out("ok")

        case "listen":
            try Self.arity(a, 1...2, "listen FD [BACKLOG]")
            var args: [(String, JSONValue)] = [try a[0].fd()]
            if a.count > 1 { args.append(("backlog", .int(try a[1].integer("BACKLOG", in: 0...65535)))) }
            try call("listen", args)
            Output.out("ok")

        case "accept":
            try Self.arity(a, 1...1, "accept FD")
            let r = try call("accept", [try a[0].fd(), t])
            Output.out("fd \(r.int("fd") ?? -1) from \(r.string("address") ?? "?"):\(r.int("port") ?? 0)")

        case "connect":
            try Self.arity(a, 3...3, "connect FD ADDR PORT")
            try call(
                "connect",
                [
                    try a[0].fd(), ("address", .string(try a[1].address().description)),
                    ("port", .int(Int(try a[2].port()))), t,
                ]
            )
            Output.out("connected")

        case "write", "send":
            try Self.arity(a, 2...2, "write FD \"TEXT\"")
            let fd = try a[0].fd()
            let bytes = a[1].bytes
            var sent = 0
            repeat {
                let r: ControlResponse
                do throws(ShellError) {
                    r = try call("send", [fd, ("data", .base64(Array(bytes[sent...]))), t])
                } catch .call(let e) where sent > 0 {
                    Output.out("wrote \(sent) of \(bytes.count) bytes")
                    throw .call(e)
                }
                sent += r.int("bytes") ?? 0
            } while sent < bytes.count
            Output.out("wrote \(sent) bytes")

        case "read", "recv":
            try Self.arity(a, 1...2, "read FD [MAX]")
            let max = a.count > 1 ? try a[1].integer("MAX", in: 0...(64 << 20)) : 65536
            let r = try call("recv", [try a[0].fd(), ("max", .int(max)), t])
            let data = r.bytes() ?? []
            if r["eof"] as? Bool == true {
                Output.out("EOF (the peer has closed its side)")
            } else {
                Output.out("\(data.count) bytes" + (data.isEmpty ? "" : ":"))
                for line in ShellText.show(data) { Output.out("  " + line) }
            }

        case "sendto":
            try Self.arity(a, 4...4, "sendto FD ADDR PORT \"TEXT\"")
            let r = try call(
                "sendto",
                [
                    try a[0].fd(), ("address", .string(try a[1].address().description)),
                    ("port", .int(Int(try a[2].port()))), ("data", .base64(a[3].bytes)), t,
                ]
            )
            Output.out("sent \(r.int("bytes") ?? 0) bytes")

        case "recvfrom":
            try Self.arity(a, 1...2, "recvfrom FD [MAX]")
            let max = a.count > 1 ? try a[1].integer("MAX", in: 0...65535) : 65535
            let r = try call("recvfrom", [try a[0].fd(), ("max", .int(max)), t])
            let data = r.bytes() ?? []
            Output.out(
                "\(data.count) bytes from \(r.string("address") ?? "?"):\(r.int("port") ?? 0)"
                    + (data.isEmpty ? "" : ":")
            )
            for line in ShellText.show(data) { Output.out("  " + line) }

        case "shutdown":
            try Self.arity(a, 2...2, "shutdown FD read|write|both")
            let how = a[1].text.lowercased()
            guard ["read", "write", "both"].contains(how) else { throw .usage("shutdown FD read|write|both") }
            try call("shutdown", [try a[0].fd(), ("how", .string(how))])
            Output.out("ok")

        case "close":
            try Self.arity(a, 1...1, "close FD")
            try call("close", [try a[0].fd()])
            Output.out("ok")

        case "getsockname", "getpeername":
            try Self.arity(a, 1...1, "\(command) FD")
            let r = try call(command, [try a[0].fd()])
            Output.out("\(r.string("address") ?? "?"):\(r.int("port") ?? 0)")

        case "setsockopt":
            try Self.arity(a, 3...3, "setsockopt FD NAME VALUE")
            let option = try a[1].option()
            try call(
                "setsockopt",
                [try a[0].fd(), ("option", .string(option.rawValue)), ("value", try a[2].optionValue(for: option))]
            )
            Output.out("ok")

        case "getsockopt":
            try Self.arity(a, 2...2, "getsockopt FD NAME")
            let option = try a[1].option()
            let r = try call("getsockopt", [try a[0].fd(), ("option", .string(option.rawValue))])
            Output.out("\(option.rawValue) = \(Self.showOption(r, option))")

        case "poll":
            var fds: [JSONValue] = []
            var events: [String] = []
            for w in a {
                switch w.text.lowercased() {
                case "in", "out": events.append(w.text.lowercased())
                case "inout", "in,out": events += ["in", "out"]
                default: fds.append(.int(Int(try w.fdNumber())))
                }
            }
            guard !fds.isEmpty else { throw .usage("poll FD... [in] [out]") }
            if events.isEmpty { events = ["in"] }
            let r = try call("poll", [("fds", .array(fds)), ("events", .array(events.map { .string($0) })), t])
            let ready = r["ready"] as? [[String: Any]] ?? []
            if ready.isEmpty { Output.out("nothing ready") }
            for entry in ready {
                let list = (entry["events"] as? [String] ?? []).joined(separator: " ")
                Output.out("fd \(entry["fd"] as? Int ?? -1): \(list)")
            }

        case "netstat", "ss":
            let r = try call("netstat")
            ShellText.netstat(r["sockets"] as? [[String: Any]] ?? []).forEach(Output.out)

        case "info":
            try Self.arity(a, 1...1, "info FD")
            let r = try call("info", [try a[0].fd()])
            ShellText.info(r).forEach(Output.out)

        case "stats":
            let r = try call("stats")
            ShellText.stats(r).forEach(Output.out)

        default:
            throw .usage("unknown command '\(command)'; type `help` for the list")
        }
    }

    /// Makes a call; its error becomes `ShellError.call`. A lost connection ends the shell.
    @discardableResult
    func call(_ op: String, _ arguments: [(String, JSONValue)] = []) throws(ShellError) -> ControlResponse {
        do throws(ControlClientError) {
            return try client.call(op, arguments)
        } catch {
            switch error {
            case .call(let e): throw .call(e)
            case .connection(let text):
                Output.err("tcpip: control connection: \(text)")
                Glibc.exit(1)
            }
        }
    }

    static func arity(_ a: [ShellArgument], _ range: ClosedRange<Int>, _ usage: String) throws(ShellError) {
        guard range.contains(a.count) else { throw .usage(usage) }
    }

    static func showOption(_ r: ControlResponse, _ option: SocketOption) -> String {
        guard let v = r["value"] else {
            return option == .soError ? "none" : option == .soLinger ? "off" : "null"
        }
        if let n = v as? NSNumber, String(cString: n.objCType) == "c" { return n.boolValue ? "on" : "off" }
        return "\(v)"
    }
}

/// One word of a command line: its bytes (escapes resolved) and their text.
struct ShellArgument {
    let bytes: [UInt8]
    var text: String { String(decoding: bytes, as: UTF8.self) }

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func integer(_ name: String, in range: ClosedRange<Int>) throws(ShellError) -> Int {
        guard let v = Int(text), range.contains(v) else {
            throw .usage("\(name) must be an integer in \(range.lowerBound)…\(range.upperBound), not '\(text)'")
        }
        return v
    }

    func fdNumber() throws(ShellError) -> Int32 {
        guard let v = Int32(text) else { throw .usage("FD must be a descriptor number, not '\(text)'") }
        return v
    }

    func fd() throws(ShellError) -> (String, JSONValue) { ("fd", .int(Int(try fdNumber()))) }

    func port() throws(ShellError) -> UInt16 { UInt16(try integer("PORT", in: 0...65535)) }

    func address() throws(ShellError) -> IPv4Address {
        guard let a = IPv4Address(text) else { throw .usage("ADDR must be a dotted-quad address, not '\(text)'") }
        return a
    }

    func option() throws(ShellError) -> SocketOption {
        guard let o = SocketOption(rawValue: text.uppercased()) else {
            let names = SocketOption.allCases.map(\.rawValue).joined(separator: ", ")
            throw .usage("unknown option '\(text)'; one of \(names)")
        }
        return o
    }

    /// A boolean option takes on/off, true/false, yes/no or 1/0; `SO_LINGER` takes seconds or
    /// off; the rest take integers.
    func optionValue(for option: SocketOption) throws(ShellError) -> JSONValue {
        let word = text.lowercased()
        if option.isBoolean {
            switch word {
            case "on", "true", "yes", "1": return .bool(true)
            case "off", "false", "no", "0": return .bool(false)
            default: throw .usage("\(option.rawValue) takes on or off, not '\(text)'")
            }
        }
        if option == .soLinger && ["off", "null", "none"].contains(word) { return .null }
        guard let v = Int(text) else {
            throw .usage("\(option.rawValue) takes an integer\(option == .soLinger ? " or off" : ""), not '\(text)'")
        }
        return .int(v)
    }
}

/// Splits a command line into words: blanks separate them; `"…"` holds blanks and escapes
/// (`\r \n \t \0 \\ \" \' \xHH`); `'…'` holds text as it is; `#` starts a comment.
enum ShellWords {
    struct Mistake: Error {
        var text: String
    }

    static func split(_ line: String) throws(Mistake) -> [[UInt8]] {
        let bytes = Array(line.utf8)
        var words: [[UInt8]] = []
        var i = 0
        func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }
        while i < bytes.count {
            if isBlank(bytes[i]) {
                i += 1
                continue
            }
            if bytes[i] == UInt8(ascii: "#") { break }
            var word: [UInt8] = []
            while i < bytes.count && !isBlank(bytes[i]) {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    i += 1
                    var closed = false
                    while i < bytes.count {
                        let b = bytes[i]
                        if b == UInt8(ascii: "\"") {
                            closed = true
                            i += 1
                            break
                        }
                        if b == UInt8(ascii: "\\") {
                            guard i + 1 < bytes.count else { throw Mistake(text: "a \\ ends the line") }
                            let e = bytes[i + 1]
                            i += 2
                            switch e {
                            case UInt8(ascii: "n"): word.append(0x0A)
                            case UInt8(ascii: "r"): word.append(0x0D)
                            case UInt8(ascii: "t"): word.append(0x09)
                            case UInt8(ascii: "0"): word.append(0)
                            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): word.append(e)
                            case UInt8(ascii: "x"):
                                guard i + 2 <= bytes.count,
                                    let v = UInt8(String(decoding: bytes[i..<i + 2], as: UTF8.self), radix: 16)
                                else { throw Mistake(text: "\\x needs two hex digits") }
                                word.append(v)
                                i += 2
                            default:
                                throw Mistake(text: "unknown escape \\\(String(decoding: [e], as: UTF8.self))")
                            }
                            continue
                        }
                        word.append(b)
                        i += 1
                    }
                    guard closed else { throw Mistake(text: "a \" is not closed") }
                case UInt8(ascii: "'"):
                    guard let end = bytes[(i + 1)...].firstIndex(of: UInt8(ascii: "'")) else {
                        throw Mistake(text: "a ' is not closed")
                    }
                    word += bytes[(i + 1)..<end]
                    i = end + 1
                default:
                    word.append(bytes[i])
                    i += 1
                }
            }
            words.append(word)
        }
        return words
    }
}

/// How the shell shows what the stack answers.
enum ShellText {
    /// Data as quoted text with escapes, one line of it per line (text), or as a hex dump
    /// (binary).
    static func show(_ data: [UInt8]) -> [String] {
        guard !data.isEmpty else { return [] }
        if let text = String(validating: data, as: UTF8.self), looksLikeText(text) {
            var lines: [String] = []
            var current = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\n":
                    current += "\\n"
                    lines.append("\"\(current)\"")
                    current = ""
                case "\r": current += "\\r"
                case "\t": current += "\\t"
                case "\\": current += "\\\\"
                case "\"": current += "\\\""
                default: current.unicodeScalars.append(scalar)
                }
            }
            if !current.isEmpty { lines.append("\"\(current)\"") }
            return lines
        }
        return hexDump(data)
    }

    /// True when every character prints, apart from tabs and line ends.
    static func looksLikeText(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { s in
            s == "\n" || s == "\r" || s == "\t"
                || (s.value >= 0x20 && s.value != 0x7F && !(0x80..<0xA0).contains(s.value))
        }
    }

    /// `0000  48 54 54 50 …  |HTTP…|`, 16 bytes a line.
    static func hexDump(_ data: [UInt8]) -> [String] {
        stride(from: 0, to: data.count, by: 16).map { offset in
            let row = data[offset..<min(offset + 16, data.count)]
            let hex = row.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined(separator: " ")
            let ascii = String(row.map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "." })
            let position = String(offset, radix: 16)
            return String(repeating: "0", count: max(0, 4 - position.count)) + position + "  "
                + hex.padding(toLength: 47, withPad: " ", startingAt: 0) + "  |" + ascii + "|"
        }
    }

    /// The socket table, in columns like `ss -tuan`.
    static func netstat(_ rows: [[String: Any]]) -> [String] {
        var table = [["Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "FD"]]
        for r in rows {
            table.append([
                r["proto"] as? String ?? "?",
                r["state"] as? String ?? (r["proto"] as? String == "udp" ? "-" : "?"),
                "\(r["recv_queue"] as? Int ?? 0)",
                "\(r["send_queue"] as? Int ?? 0)",
                r["local"] as? String ?? "*:*",
                r["remote"] as? String ?? "*:*",
                (r["fd"] as? Int).map { "\($0)" } ?? "-",
            ])
        }
        let widths = (0..<table[0].count).map { c in table.map { $0[c].count }.max() ?? 0 }
        return table.map { row in
            row.enumerated().map { c, cell in
                c == row.count - 1 ? cell : cell.padding(toLength: widths[c] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }
    }

    /// The control block, one field per line, in the protocol's order.
    static func info(_ r: ControlResponse) -> [String] {
        guard r["state"] != nil else { return ["state: none (a datagram socket has no connection state)"] }
        let order = [
            "state", "snd_una", "snd_nxt", "snd_wnd", "rcv_nxt", "rcv_wnd", "iss", "irs", "mss", "srtt_us",
            "rttvar_us", "rto_us", "cwnd", "ssthresh", "retransmits_total", "backoff", "options", "send_queue",
            "recv_queue", "fin_acked", "accept_queue",
        ]
        var keys = order.filter { r.fields[$0] != nil }
        keys += r.fields.keys.filter { $0 != "ok" && !order.contains($0) }.sorted()
        let width = keys.map(\.count).max() ?? 0
        return keys.map { key in
            let name = (key + ":").padding(toLength: width + 2, withPad: " ", startingAt: 0)
            return name + value(r.fields[key], key: key)
        }
    }

    static func value(_ v: Any?, key: String) -> String {
        guard let v, !(v is NSNull) else { return key == "ssthresh" ? "not set" : "null" }
        if let n = v as? NSNumber, String(cString: n.objCType) == "c" { return n.boolValue ? "yes" : "no" }
        if let o = v as? [String: Any] {
            if key == "options" {
                var parts: [String] = []
                if let w = o["wscale"] as? [String: Any] {
                    parts.append("wscale send \(w["send"] as? Int ?? 0) receive \(w["receive"] as? Int ?? 0)")
                } else {
                    parts.append("no wscale")
                }
                parts.append((o["sack"] as? Bool ?? false) ? "sack" : "no sack")
                parts.append((o["timestamps"] as? Bool ?? false) ? "timestamps" : "no timestamps")
                return parts.joined(separator: ", ")
            }
            return o.keys.sorted().map { "\($0) \(value(o[$0], key: $0))" }.joined(separator: ", ")
        }
        return "\(v)"
    }

    /// Each layer's counters, then the drops that happened, by reason.
    static func stats(_ r: ControlResponse) -> [String] {
        var lines: [String] = []
        for layer in Layer.allCases {
            guard let members = r[layer.rawValue] as? [String: Any] else { continue }
            lines.append("\(layer.rawValue):")
            for (name, v) in members.filter({ $0.key != "drops" }).sorted(by: { $0.key < $1.key }) {
                lines.append("  \(name): \(v)")
            }
            let drops = (members["drops"] as? [String: Any] ?? [:]).compactMap { k, v in
                (v as? Int).flatMap { $0 > 0 ? (k, $0) : nil }
            }.sorted { $0.0 < $1.0 }
            if drops.isEmpty {
                lines.append("  drops: none")
            } else {
                for (k, v) in drops { lines.append("  drops.\(k): \(v)") }
            }
        }
        return lines
    }
}
