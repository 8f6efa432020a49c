import Foundation
import TCPIPCore
import TCPIPDrivers

/// How an HTTP GET ended.
public struct HTTPGetOutcome: Sendable {
    /// The response's status code; nil when no response head arrived.
    public var status: Int?
    /// The reason phrase.
    public var reason: String = ""
    /// Body bytes written to the output.
    public var bodyBytes: Int64 = 0
    /// Nanoseconds from the connect to the end of the body.
    public var nanoseconds: Int64 = 0
    /// What went wrong, in one line (`connect 10.99.0.1:8000: ECONNREFUSED (connection refused)`);
    /// nil when the response arrived whole.
    public var error: String?
}

/// Where an `HTTPGetApplication` posts its outcome, for another thread to wait on.
public final class HTTPGetResult: Sendable {
    let state = Locked<HTTPGetOutcome?>(nil)

    /// The outcome, once the transfer is over.
    public var outcome: HTTPGetOutcome? { state.withLock { $0 } }

    func finish(_ o: HTTPGetOutcome) {
        state.withLock { if $0 == nil { $0 = o } }
    }
}

/// An HTTP/1.1 client for one GET (RFC 9110, RFC 9112), running on the host's owner thread:
/// it connects, sends `GET path HTTP/1.1` with `Host` and `Connection: close`, reads the status
/// line and header fields, and writes the body to a file descriptor as it arrives — framed by
/// `Content-Length`, by chunked transfer coding, or by the end of the connection (RFC 9112
/// §6.3). Bulk data costs no thread hop: each socket event reads into one reused buffer and
/// writes straight to the output.
public final class HTTPGetApplication: HostApplication {
    /// The server.
    public let address: IPv4Address
    public let port: UInt16
    /// Outcome, posted once.
    public let result = HTTPGetResult()

    let output: Int32
    let outputName: String
    let request: [UInt8]
    let receiveBuffer: Int?
    var fd: Int32 = -1
    var requestSent = 0
    var started = Instant(nanoseconds: 0)
    let scratch = ScratchBuffer(size: 256 * 1024)

    enum Phase { case connecting, head, body, done }
    enum Framing {
        case length(Int64)
        case chunked, untilClose, none
    }
    enum Chunk {
        case sizeLine
        case data(Int64)
        case dataEnd, trailer, done
    }

    var phase = Phase.connecting
    var head: [UInt8] = []
    var outcome = HTTPGetOutcome()
    var framing = Framing.none
    var chunk = Chunk.sizeLine
    var line: [UInt8] = []

    /// A GET of `path` from `address:port`, sending `host` as the `Host` field, writing the
    /// body to descriptor `output` (named `outputName` in errors). `receiveBuffer` sets the
    /// socket's SO_RCVBUF (as `setsockopt`, so the buffer is twice it) before connecting.
    public init(
        address: IPv4Address,
        port: UInt16,
        host: String,
        path: String,
        output: Int32,
        outputName: String,
        receiveBuffer: Int? = nil
    ) {
        self.address = address
        self.port = port
        self.output = output
        self.outputName = outputName
        self.receiveBuffer = receiveBuffer
        request = Array(
            "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: tcpip\r\nAccept: */*\r\nConnection: close\r\n\r\n"
                .utf8
        )
    }

    var peer: String { "\(address):\(port)" }

    /// Opens the socket and sends the SYN. Fails when the socket cannot be opened or the
    /// destination has no route (`ENETUNREACH`).
    public func start(stack: inout Stack, effects: inout Effects) throws(Errno) {
        let fd = try stack.socket(.stream).get()
        if let receiveBuffer { _ = stack.setOption(fd, .soRcvBuf, receiveBuffer) }
        started = MonotonicClock.now()
        if case .failure(let e) = stack.connect(fd, address: address, port: port, into: &effects) {
            _ = stack.close(fd, into: &effects)
            throw e.with("connect \(peer): \(e.name) (\(e.message))")
        }
        self.fd = fd
    }

    public func handle(_ event: SocketEvent, stack: inout Stack, effects: inout Effects) {
        guard let changed = event.descriptor, changed == fd, fd >= 0, phase != .done else { return }
        step(stack: &stack, effects: &effects)
    }

    func step(stack: inout Stack, effects: inout Effects) {
        if phase == .connecting {
            let r = request.withUnsafeBytes { p in
                stack.send(fd, UnsafeRawBufferPointer(rebasing: p[requestSent...]), into: &effects)
            }
            switch r {
            case .success(let n):
                requestSent += n
                if requestSent == request.count { phase = .head }
            case .failure(let e):
                if e == .EAGAIN { return }
                return fail(
                    requestSent == 0
                        ? "connect \(peer): \(e.name) (\(e.message))" : "send to \(peer): \(e.name) (\(e.message))",
                    stack: &stack,
                    effects: &effects
                )
            }
            if phase == .connecting { return }
        }
        // Bounded: the receive buffer is bounded and nothing arrives while this runs.
        for _ in 0..<4096 where phase != .done {
            switch stack.receive(fd, to: scratch.bytes, into: &effects) {
            case .success(let r):
                if r.eof { return endOfStream(stack: &stack, effects: &effects) }
                if r.count == 0 { return }
                consume(UnsafeRawBufferPointer(scratch.prefix(r.count)), stack: &stack, effects: &effects)
            case .failure(let e):
                if e == .EAGAIN { return }
                return fail("receive from \(peer): \(e.name) (\(e.message))", stack: &stack, effects: &effects)
            }
        }
    }

    func consume(_ bytes: UnsafeRawBufferPointer, stack: inout Stack, effects: inout Effects) {
        var bytes = bytes
        while !bytes.isEmpty && phase != .done {
            if phase == .head {
                let searchFrom = max(0, head.count - 3)
                head.append(contentsOf: bytes)
                guard let end = Self.endOfHead(head, from: searchFrom) else {
                    if head.count > 64 * 1024 {
                        fail("response head from \(peer) too large", stack: &stack, effects: &effects)
                    }
                    return
                }
                // The bytes after the head are body (or the next head, after a 1xx).
                let extra = head.count - end
                bytes = UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - extra)...])
                head.removeLast(extra)
                guard parseHead(stack: &stack, effects: &effects) else { return }
                continue
            }
            let n = body(bytes, stack: &stack, effects: &effects)
            bytes = UnsafeRawBufferPointer(rebasing: bytes[n...])
        }
    }

    /// The index just past the empty line that ends a head, searching from `from`.
    static func endOfHead(_ h: [UInt8], from: Int) -> Int? {
        var i = from
        while i < h.count {
            if h[i] == 10 {
                if i + 1 < h.count && h[i + 1] == 10 { return i + 2 }
                if i + 2 < h.count && h[i + 1] == 13 && h[i + 2] == 10 { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    /// Parses the status line and header fields in `head` and chooses the body's framing
    /// (RFC 9112 §6.3). False when the transfer ended (malformed) or must wait (1xx).
    func parseHead(stack: inout Stack, effects: inout Effects) -> Bool {
        // Split on LF bytes (in a Swift String, CR LF is one Character), dropping each CR.
        var lines = head.split(separator: 10, omittingEmptySubsequences: false).map { l in
            String(decoding: l.last == 13 ? l.dropLast() : l, as: UTF8.self)
        }
        head.removeAll(keepingCapacity: true)
        while let l = lines.last, l.isEmpty { lines.removeLast() }
        guard let statusLine = lines.first else {
            fail("malformed response from \(peer)", stack: &stack, effects: &effects)
            return false
        }
        // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4).
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else {
            fail("malformed status line from \(peer): \(statusLine.prefix(80))", stack: &stack, effects: &effects)
            return false
        }
        if (100...199).contains(status) && status != 101 { return true }  // interim: the final head follows
        outcome.status = status
        outcome.reason = parts.count > 2 ? String(parts[2]) : ""
        var length: Int64?
        var chunked = false
        for l in lines.dropFirst() {
            guard let colon = l.firstIndex(of: ":") else { continue }
            let name = l[..<colon].lowercased()
            let value = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" {
                guard let n = Int64(value), n >= 0 else {
                    fail("bad Content-Length from \(peer): \(value)", stack: &stack, effects: &effects)
                    return false
                }
                length = n
            } else if name == "transfer-encoding" {
                chunked =
                    value.lowercased().split(separator: ",").last?.trimmingCharacters(in: .whitespaces) == "chunked"
            }
        }
        phase = .body
        if status == 204 || status == 304 {
            framing = .none
        } else if chunked {
            // RFC 9112 §6.3 (4): chunked wins over Content-Length.
            framing = .chunked
        } else if let length {
            framing = .length(length)
        } else {
            framing = .untilClose
        }
        if case .none = framing { complete(stack: &stack, effects: &effects) }
        if case .length(0) = framing { complete(stack: &stack, effects: &effects) }
        return true
    }

    /// Takes body bytes; returns how many it used (all, unless the body ended).
    func body(_ bytes: UnsafeRawBufferPointer, stack: inout Stack, effects: inout Effects) -> Int {
        switch framing {
        case .none:
            return bytes.count
        case .untilClose:
            write(bytes, stack: &stack, effects: &effects)
            return bytes.count
        case .length(let left):
            let n = Int(min(Int64(bytes.count), left))
            write(UnsafeRawBufferPointer(rebasing: bytes[..<n]), stack: &stack, effects: &effects)
            framing = .length(left - Int64(n))
            if left - Int64(n) == 0 { complete(stack: &stack, effects: &effects) }
            return phase == .done ? bytes.count : n
        case .chunked:
            return dechunk(bytes, stack: &stack, effects: &effects)
        }
    }

    /// The chunked transfer coding (RFC 9112 §7.1): size line, data, CRLF, …, 0, trailers.
    func dechunk(_ bytes: UnsafeRawBufferPointer, stack: inout Stack, effects: inout Effects) -> Int {
        var i = 0
        while i < bytes.count && phase != .done {
            switch chunk {
            case .data(let left):
                let n = Int(min(Int64(bytes.count - i), left))
                write(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + n)]), stack: &stack, effects: &effects)
                i += n
                chunk = left - Int64(n) == 0 ? .dataEnd : .data(left - Int64(n))
            case .sizeLine, .dataEnd, .trailer:
                let b = bytes[i]
                i += 1
                if b != 10 {
                    line.append(b)
                    if line.count > 8192 { fail("chunk line from \(peer) too long", stack: &stack, effects: &effects) }
                    continue
                }
                if line.last == 13 { line.removeLast() }
                let text = String(decoding: line, as: UTF8.self)
                line.removeAll(keepingCapacity: true)
                switch chunk {
                case .sizeLine:
                    let digits = text.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
                        .trimmingCharacters(in: .whitespaces)
                    guard !digits.isEmpty, digits.count <= 15, let size = Int64(digits, radix: 16) else {
                        fail("bad chunk size from \(peer): \(text.prefix(40))", stack: &stack, effects: &effects)
                        return bytes.count
                    }
                    chunk = size == 0 ? .trailer : .data(size)
                case .dataEnd:
                    guard text.isEmpty else {
                        fail("chunk from \(peer) not followed by CRLF", stack: &stack, effects: &effects)
                        return bytes.count
                    }
                    chunk = .sizeLine
                default:
                    if text.isEmpty {
                        chunk = .done
                        complete(stack: &stack, effects: &effects)
                    }
                }
            case .done:
                return bytes.count
            }
        }
        return bytes.count
    }

    func write(_ bytes: UnsafeRawBufferPointer, stack: inout Stack, effects: inout Effects) {
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(output, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                return fail("write \(outputName): \(String(cString: strerror(e)))", stack: &stack, effects: &effects)
            }
            done += n
        }
        outcome.bodyBytes += Int64(bytes.count)
    }

    func endOfStream(stack: inout Stack, effects: inout Effects) {
        switch (phase, framing) {
        case (.body, .untilClose):
            complete(stack: &stack, effects: &effects)
        case (.body, .length(let left)):
            fail(
                "\(peer) closed the connection \(left) bytes before the end of the body",
                stack: &stack,
                effects: &effects
            )
        case (.body, _):
            fail("\(peer) closed the connection before the end of the chunked body", stack: &stack, effects: &effects)
        default:
            fail("\(peer) closed the connection without a response", stack: &stack, effects: &effects)
        }
    }

    func complete(stack: inout Stack, effects: inout Effects) {
        guard phase != .done else { return }
        phase = .done
        outcome.nanoseconds = MonotonicClock.now().nanoseconds(since: started)
        _ = stack.close(fd, into: &effects)
        result.finish(outcome)
    }

    func fail(_ message: String, stack: inout Stack, effects: inout Effects) {
        guard phase != .done else { return }
        phase = .done
        outcome.nanoseconds = MonotonicClock.now().nanoseconds(since: started)
        outcome.error = message
        _ = stack.setOption(fd, .soLinger, 0)
        _ = stack.close(fd, into: &effects)
        result.finish(outcome)
    }
}
