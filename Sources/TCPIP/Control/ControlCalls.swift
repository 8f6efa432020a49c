import TCPIPCore

/// The calls of the control protocol (CONTROL-PROTOCOL.md), each made on the host's owner
/// thread. A call that can block waits with `Host.call(socket:…)` on its socket's events
/// (never holding a lock), so a blocked call on one control connection delays no other.
struct ControlCalls: Sendable {
    let host: Host
    /// The server's counters, for `stats`.
    let counters: ControlCounters

    /// The most bytes one `recv` or `recvfrom` returns (a larger `max` is taken as this, as a
    /// read may return fewer bytes than asked), so one reply stays well under a megabyte and a
    /// half of base64.
    static let maxReceive = 1 << 20

    /// What `hello` reports as the stack's name and version.
    static let name = "swift-tcpip"
    static let version = "0.1.0"

    /// A call's results, after `"ok": true`.
    typealias Results = [(String, JSONValue)]

    /// Makes the call `request` names and returns its results; fails with the call's errno,
    /// `EINVAL` for bad arguments, `EOPNOTSUPP` for an unknown op.
    func perform(_ request: ControlRequest) throws(Errno) -> Results {
        switch request.op {
        case "hello": return hello()
        case "socket": return try socket(request)
        case "bind": return try bind(request)
        case "listen": return try listen(request)
        case "accept": return try accept(request)
        case "connect": return try connect(request)
        case "send": return try send(request)
        case "sendto": return try sendTo(request)
        case "recv": return try receive(request, from: false)
        case "recvfrom": return try receive(request, from: true)
        case "shutdown": return try shutdown(request)
        case "close": return try close(request)
        case "setsockopt": return try setOption(request)
        case "getsockopt": return try getOption(request)
        case "getsockname": return try name(request, peer: false)
        case "getpeername": return try name(request, peer: true)
        case "poll": return try poll(request)
        case "info": return try info(request)
        case "netstat": return netstat()
        case "stats": return stats()
        default: throw Errno.EOPNOTSUPP.with("unknown op '\(request.op)'")
        }
    }

    // MARK: - Who the stack is

    func hello() -> Results {
        let interfaces = host.perform { stack, _ in stack.interfaces }
        return [
            ("name", .string(Self.name)),
            ("version", .string(Self.version)),
            (
                "interfaces",
                .array(
                    interfaces.map { i in
                        .object([
                            ("name", .string(i.name)),
                            ("mac", .string(i.mac.description)),
                            ("address", .string(i.address.description)),
                            ("prefix", .int(i.network.prefixLength)),
                            ("mtu", .int(i.mtu)),
                        ])
                    }
                )
            ),
        ]
    }

    // MARK: - Socket calls

    func socket(_ r: ControlRequest) throws(Errno) -> Results {
        let type: SocketType
        switch try r.string("type") {
        case "stream": type = .stream
        case "dgram": type = .dgram
        case let other: throw Errno.EINVAL.with("unknown socket type '\(other)' (stream or dgram)")
        }
        let fd = try host.perform { stack, _ in stack.socket(type) }.get()
        return [("fd", .int(Int(fd)))]
    }

    func bind(_ r: ControlRequest) throws(Errno) -> Results {
        let fd = try r.fd()
        let port = try r.port()
        let address = try r.optionalAddress() ?? .any
        try host.perform { stack, _ in stack.bind(fd, address: address, port: port) }.get()
        return []
    }

    /// `listen`: a passive OPEN with room for `backlog` (default 128) completed connections.
    func listen(_ r: ControlRequest) throws(Errno) -> Results {
        let fd = try r.fd()
        let backlog = try r.optionalInt("backlog") ?? 128
        try host.perform { stack, _ in stack.listen(fd, backlog: backlog) }.get()
        return []
    }

    /// `accept`: waits up to `timeout_ms` for a completed connection.
    func accept(_ r: ControlRequest) throws(Errno) -> Results {
        let fd = try r.fd()
        let timeout = try r.timeout()
        try requireStream(fd, "accept")
        let a = try host.callRetryingWhileBlocked(fd: fd, awaiting: .readable, timeout: timeout) { stack, effects in
            stack.accept(fd, into: &effects)
        }.get()
        return [("fd", .int(Int(a.fd))), ("address", .string(a.address.description)), ("port", .int(Int(a.port)))]
    }

    /// `connect`: a stream socket's handshake, waited for up to `timeout_ms` (then
    /// `EINPROGRESS` while it carries on); a datagram socket's default peer.
    func connect(_ r: ControlRequest) throws(Errno) -> Results {
        let fd = try r.fd()
        let address = try r.address()
        let port = try r.port()
        let timeout = try r.timeout()
        try host.streamConnect(fd: fd, address: address, port: port, timeout: timeout).get()
        return []
    }

    func send(_ r: ControlRequest) throws(Errno) -> Results {
        let fd = try r.fd()
        let data = try r.data()
        let timeout = try r.timeout()
        let n = try host.callRetryingWhileBlocked(fd: fd, awaiting: .writable, timeout: timeout) { stack, effects in
            data.withUnsafeBytes { stack.send(fd, $0, into: &effects) }
        }.get()
        return [("bytes", .int(n))]
    }

    func sendTo(_ r: ControlRequest) throws(Errno) -> Results {
        let fd = try r.fd()
        let data = try r.data()
        let address = try r.address()
        let port = try r.port()
        let timeout = try r.timeout()
        let n = try host.callRetryingWhileBlocked(fd: fd, awaiting: .writable, timeout: timeout) { stack, effects in
            data.withUnsafeBytes { stack.sendTo(fd, $0, address: address, port: port, into: &effects) }
        }.get()
        return [("bytes", .int(n))]
    }

    /// `recv` (`data`, `eof`) on any socket, and `recvfrom` (`data`, `address`, `port`) on a
    /// datagram socket.
    func receive(_ r: ControlRequest, from: Bool) throws(Errno) -> Results {
        let fd = try r.fd()
        let max = min(try r.count("max"), Self.maxReceive)
        let timeout = try r.timeout()
        if !from {
            // A datagram socket has no end of stream: `eof` stays false there.
            let d = try host.callRetryingWhileBlocked(fd: fd, awaiting: .readable, timeout: timeout) { stack, effects in
                stack.receive(fd, max: max, into: &effects)
            }.get()
            return [("data", .base64(d.bytes)), ("eof", .bool(d.eof))]
        }
        let d = try host.callRetryingWhileBlocked(fd: fd, awaiting: .readable, timeout: timeout) { stack, _ in
            stack.receiveFrom(fd, max: max)
        }.get()
        return [("data", .base64(d.bytes)), ("address", .string(d.address.description)), ("port", .int(Int(d.port)))]
    }

    func shutdown(_ r: ControlRequest) throws(Errno) -> Results {
        let fd = try r.fd()
        let text = try r.string("how")
        guard let how = ShutdownHow(rawValue: text) else {
            throw Errno.EINVAL.with("argument 'how' must be \"read\", \"write\" or \"both\", not '\(text)'")
        }
        try host.perform { stack, effects in stack.shutdown(fd, how: how, into: &effects) }.get()
        return []
    }

    /// `close`: a positive `SO_LINGER` blocks it until our FIN is acknowledged or the linger
    /// time passes, as on POSIX.
    func close(_ r: ControlRequest) throws(Errno) -> Results {
        let fd = try r.fd()
        try host.streamClose(fd: fd).get()
        return []
    }

    func name(_ r: ControlRequest, peer: Bool) throws(Errno) -> Results {
        let fd = try r.fd()
        let a = try host.perform { stack, _ in peer ? stack.remoteAddress(fd) : stack.localAddress(fd) }.get()
        return [("address", .string(a.address.description)), ("port", .int(Int(a.port)))]
    }

    // MARK: - Options

    func setOption(_ r: ControlRequest) throws(Errno) -> Results {
        let fd = try r.fd()
        let option = try Self.option(r)
        guard r.has("value") else { throw ControlRequest.missing("value") }
        let value: Int?
        if let v = r.value("value") {
            if ControlRequest.isBoolean(v) {
                guard option.isBoolean else {
                    throw ControlRequest.wrongType("value", "an integer for \(option.rawValue)")
                }
                value = (v as? Bool) == true ? 1 : 0
            } else if let i = ControlRequest.integer(v) {
                value = i
            } else {
                throw ControlRequest.wrongType("value", option.isBoolean ? "a boolean" : "an integer")
            }
        } else {
            // null: SO_LINGER off; no other option takes it.
            guard option == .soLinger else { throw ControlRequest.wrongType("value", "a value, not null") }
            value = nil
        }
        try host.perform { stack, _ in stack.setOption(fd, option, value) }.get()
        return []
    }

    func getOption(_ r: ControlRequest) throws(Errno) -> Results {
        let fd = try r.fd()
        let option = try Self.option(r)
        if option == .soError {
            // Reading SO_ERROR clears it, as on POSIX.
            let e = try host.perform { stack, _ in stack.takeError(fd) }.get()
            return [("value", .string(e?.name))]
        }
        let v = try host.perform { stack, _ in stack.option(fd, option) }.get()
        if option.isBoolean { return [("value", .bool((v ?? 0) != 0))] }
        return [("value", .int(v))]
    }

    static func option(_ r: ControlRequest) throws(Errno) -> SocketOption {
        let name = try r.string("option")
        guard let option = SocketOption(rawValue: name) else {
            throw Errno.ENOPROTOOPT.with("unknown socket option '\(name)'")
        }
        return option
    }

    // MARK: - Readiness

    /// `poll`: the descriptors with any of `events` (or an error or hang-up) ready; waits until
    /// one is or `timeout_ms` passes, then answers with an empty list.
    func poll(_ r: ControlRequest) throws(Errno) -> Results {
        var list: [Int32] = []
        for v in try r.array("fds") {
            guard let i = ControlRequest.integer(v) else {
                throw ControlRequest.wrongType("fds", "a list of integers")
            }
            list.append(Int32(exactly: i) ?? -1)
        }
        let fds = list
        var wanted: Readiness = [.error, .hangUp]
        for v in try r.array("events") {
            switch v as? String {
            case "in": wanted.insert(.readable)
            case "out": wanted.insert(.writable)
            case "err": wanted.insert(.error)
            case "hup": wanted.insert(.hangUp)
            default: throw ControlRequest.wrongType("events", "a list of \"in\" and \"out\"")
            }
        }
        let timeout = try r.timeout()
        let interest = wanted
        // Waits on each descriptor's socket: an event of any of them retries the poll.
        let result = host.call(sockets: fds, timeout: timeout) { stack, _ -> Result<[Readiness], Errno>? in
            var ready: [Readiness] = []
            var any = false
            for fd in fds {
                guard let state = stack.readiness(fd) else {
                    return .failure(.EBADF.with("descriptor \(fd) is not an open socket"))
                }
                let hit = state.intersection(interest)
                any = any || !hit.isEmpty
                ready.append(hit)
            }
            return any ? .success(ready) : nil
        }
        let ready = try (result ?? .success([])).get()
        var answer: [JSONValue] = []
        for (fd, events) in zip(fds, ready) where !events.isEmpty {
            answer.append(
                .object([("fd", .int(Int(fd))), ("events", .array(Self.names(of: events).map { .string($0) }))])
            )
        }
        return [("ready", .array(answer))]
    }

    static func names(of r: Readiness) -> [String] {
        var names: [String] = []
        if r.contains(.readable) { names.append("in") }
        if r.contains(.writable) { names.append("out") }
        if r.contains(.error) { names.append("err") }
        if r.contains(.hangUp) { names.append("hup") }
        return names
    }

    // MARK: - Looking inside

    /// `info`: a stream socket's control block (RFC 9293 §3.3.1 names, absolute sequence
    /// numbers); `state: null` for a datagram socket.
    func info(_ r: ControlRequest) throws(Errno) -> Results {
        let fd = try r.fd()
        guard let i = try host.perform({ stack, _ in stack.tcpInfo(fd) }).get() else { return [("state", .null)] }
        var results: Results = [
            ("state", .string(i.state.name)),
            ("snd_una", .int(Int(i.sndUna))),
            ("snd_nxt", .int(Int(i.sndNxt))),
            ("snd_wnd", .int(i.sndWnd)),
            ("rcv_nxt", .int(Int(i.rcvNxt))),
            ("rcv_wnd", .int(i.rcvWnd)),
            ("iss", .int(Int(i.iss))),
            ("irs", .int(Int(i.irs))),
            ("mss", .int(i.mss)),
            ("srtt_us", .int(i.srttMicroseconds.map { Int($0) })),
            ("rttvar_us", .int(Int(i.rttvarMicroseconds))),
            ("rto_us", .int(Int(i.rtoMicroseconds))),
            ("cwnd", .int(i.cwnd)),
            ("ssthresh", .int(i.ssthresh)),
            ("retransmits_total", .int(i.retransmitsTotal)),
            ("backoff", .int(i.backoff)),
            (
                "options",
                .object([
                    (
                        "wscale",
                        i.windowScale.map { .object([("send", .int($0.send)), ("receive", .int($0.receive))]) } ?? .null
                    ),
                    ("sack", .bool(i.sack)),
                    ("timestamps", .bool(i.timestamps)),
                ])
            ),
            ("send_queue", .int(i.sendQueue)),
            ("recv_queue", .int(i.receiveQueue)),
            ("fin_acked", .bool(i.finAcknowledged)),
        ]
        if let q = i.acceptQueue { results.append(("accept_queue", .int(q))) }
        return results
    }

    func netstat() -> Results {
        let rows = host.perform { stack, _ in stack.netstat() }
        func endpoint(_ e: (address: IPv4Address, port: UInt16)?) -> JSONValue {
            .string(e.map { "\($0.address):\($0.port)" })
        }
        let sockets: [JSONValue] = rows.map { s in
            .object([
                ("fd", .int(s.fd.map { Int($0) })),
                ("proto", .string(s.proto)),
                ("local", endpoint(s.local)),
                ("remote", endpoint(s.remote)),
                ("state", .string(s.state)),
                ("send_queue", .int(s.sendQueue)),
                ("recv_queue", .int(s.receiveQueue)),
            ])
        }
        return [("sockets", .array(sockets))]
    }

    /// `stats`: the stack's layers, then this server's section (`control`) and those of the
    /// host's applications that keep counters (`http`).
    func stats() -> Results {
        let host = host
        let (stack, applications) = host.perform { stack, _ in (stack.counters, host.applicationStatistics()) }
        var results: Results = Layer.allCases.map { layer in
            var members: [(String, JSONValue)] = stack.counters(of: layer).map { ($0.0, .uint($0.1)) }
            members.append(("drops", .object(stack.drops(of: layer).map { ($0.0, .uint($0.1)) })))
            return (layer.rawValue, .object(members))
        }
        for section in [counters.statistics] + applications {
            var members: [(String, JSONValue)] = section.counters.map { ($0.name, .uint($0.value)) }
            members.append(("drops", .object(section.drops.map { ($0.reason, .uint($0.count)) })))
            results.append((section.section, .object(members)))
        }
        return results
    }

    /// `accept` needs a stream socket: `EBADF` for no socket, `EOPNOTSUPP` for a datagram
    /// socket (as Linux answers).
    func requireStream(_ fd: Int32, _ call: String) throws(Errno) {
        switch host.perform({ stack, _ in stack.socketType(fd) }) {
        case nil: throw Errno.EBADF.with("descriptor \(fd) is not an open socket")
        case .dgram: throw Errno.EOPNOTSUPP.with("\(call) needs a stream socket; descriptor \(fd) is a datagram socket")
        case .stream: return
        }
    }
}
