import Foundation
import TCPIPCore
import TCPIPDrivers

/// A small HTTP/1.1 static-file server (RFC 9110, RFC 9112) running on the host's owner
/// thread, driven by socket events.
///
/// - `GET` and `HEAD`; any other method gets 405 with `Allow: GET, HEAD`.
/// - Responses carry `Content-Length`. Connections persist (RFC 9112 §9.3): HTTP/1.1 unless the
///   request says `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`. Pipelined
///   requests are answered in order.
/// - With a root directory it serves the files under it: a directory gives its `index.html`
///   or 404; a missing file gives 404; a path with a `..` segment is refused with 400, and a
///   path whose symbolic links lead outside the root gives 404.
/// - Without a root it serves a built-in index page at `/` and, at `/bytes/N`, N deterministic
///   bytes: the little-endian bytes of `k × 2654435761 mod 2³²` for k = 0, 1, 2, … (see
///   `patternByte`), handy for checking transfers.
/// - A malformed request gets 400 and the connection is closed.
/// - Clients that never finish are bounded (`HTTPServerLimits`): a request head larger than
///   16 KiB gets 431, one still incomplete 30 s after its first byte gets 408 (each then
///   closed), and a connection that makes no progress for 60 s is closed — so a slowloris
///   holds a connection for a bounded time and a bounded number of bytes. Each is counted in
///   `statistics` (`stats` section `http`) and traced.
///
/// Bodies are streamed: each time the send buffer has room, the next chunk is read from the
/// file (`pread`) into one reused buffer and handed to the stack, so a 100 MiB file costs no
/// more memory than a small one.
public final class HTTPServerApplication: HostApplication, StatisticsReporting {
    /// The port it serves.
    public let port: UInt16
    /// The local address it binds (`.any`: every address of the stack).
    public let address: IPv4Address
    /// The directory served (canonical, without a trailing slash); nil: the built-in pages.
    public let root: String?
    /// The listening socket's descriptor; -1 before `start`.
    public private(set) var listener: Int32 = -1
    /// Connections accepted so far (owner thread).
    public private(set) var accepted = 0
    /// Responses sent completely so far (owner thread).
    public private(set) var responses = 0
    /// Connections open now (owner thread).
    public var openConnections: Int { connections.count }
    /// The bounds kept against clients that never finish.
    public let limits: HTTPServerLimits
    /// Heads refused with 431 so far (owner thread).
    public private(set) var headsTooLarge = 0
    /// Heads that timed out with 408 so far (owner thread).
    public private(set) var headerTimeouts = 0
    /// Connections closed for making no progress so far (owner thread).
    public private(set) var idleTimeouts = 0
    /// Malformed requests answered with 400 so far (owner thread).
    public private(set) var badRequests = 0
    /// The largest `/bytes/N`.
    static let patternLimit: Int64 = 1 << 40

    var connections: [Int32: Connection] = [:]
    let scratch: ScratchBuffer
    let backlog: Int
    var dateSecond = 0
    var dateText = ""
    let trace: ((HTTPServerEvent) -> Void)?
    /// When the connections are next checked against their deadlines; nil while there are none.
    var nextSweep: Instant?

    /// A server on `port`, serving `root` (from `resolveRoot`) or, when nil, the built-in pages,
    /// keeping `limits`; `trace`, when given, is called on the owner thread for every
    /// `HTTPServerEvent`.
    public init(
        port: UInt16,
        address: IPv4Address = .any,
        root: String? = nil,
        backlog: Int = 1024,
        limits: HTTPServerLimits = HTTPServerLimits(),
        trace: ((HTTPServerEvent) -> Void)? = nil
    ) {
        self.port = port
        self.address = address
        self.root = root
        self.backlog = backlog
        self.limits = limits
        self.trace = trace
        scratch = ScratchBuffer(size: 256 * 1024)
    }

    /// The counters `stats` reports as the section `http`.
    public var statistics: ServiceStatistics {
        ServiceStatistics(
            section: "http",
            counters: [("connections_accepted", UInt64(accepted)), ("responses", UInt64(responses))],
            drops: [
                ("header_timeout", UInt64(headerTimeouts)), ("idle_timeout", UInt64(idleTimeouts)),
                ("head_too_large", UInt64(headsTooLarge)), ("bad_request", UInt64(badRequests)),
            ]
        )
    }

    /// The canonical form of a root directory (symbolic links resolved); fails with a message
    /// when it does not exist or is not a directory.
    public static func resolveRoot(_ path: String) -> Result<String, Errno> {
        guard let p = realpath(path, nil) else {
            let e = errno
            return .failure(Errno("E\(e)", e, "\(path): \(String(cString: strerror(e)))"))
        }
        defer { free(p) }
        let real = String(cString: p)
        var st = stat()
        guard stat(real, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            return .failure(Errno("ENOTDIR", 20, "\(path): not a directory"))
        }
        return .success(real == "/" ? "" : real)
    }

    deinit {
        for c in connections.values { c.response?.closeFile() }
    }

    /// Opens the listening socket. Fails with `EADDRINUSE` when the port already has a
    /// listener, naming the port in the message.
    public func start(stack: inout Stack, effects: inout Effects) throws(Errno) {
        listener = try StreamSupport.listen(
            stack: &stack,
            effects: &effects,
            address: address,
            port: port,
            backlog: backlog,
            service: "HTTP"
        )
    }

    public func handle(_ event: SocketEvent, stack: inout Stack, effects: inout Effects) {
        guard let fd = event.descriptor, listener >= 0 else { return }
        if fd == listener {
            while case .success(let a) = stack.accept(listener, into: &effects) {
                accepted += 1
                let size = StreamSupport.sendBufferSize(stack: stack, fd: a.fd)
                let now = MonotonicClock.now()
                connections[a.fd] = Connection(lowWater: max(1, min(64 * 1024, size / 4)), lastActivity: now)
                if nextSweep == nil { nextSweep = now.adding(nanoseconds: limits.sweepInterval) }
                service(a.fd, stack: &stack, effects: &effects)
            }
            return
        }
        service(fd, stack: &stack, effects: &effects)
    }

    // MARK: - Connections

    struct Connection {
        /// Request bytes received and not yet parsed.
        var inbox: [UInt8] = []
        /// Request body bytes still to drop before the next request.
        var skip = 0
        /// The response being sent.
        var response: Response?
        /// Our FIN is queued (after `Connection: close`); reading on until the peer's.
        var lingering = false
        /// The peer's FIN has been read.
        var peerEOF = false
        /// Refill the send buffer once it has this much room (fewer, larger file reads).
        var lowWater: Int
        /// When a byte last came in or went into the send buffer.
        var lastActivity: Instant
        /// When the first byte of the request head being received came; nil between requests
        /// and while a response is sent.
        var headStarted: Instant?
        /// The inbox holds no end of head before this offset (so a trickled head is scanned
        /// once, not once per byte).
        var scanned = 0
    }

    /// A response in progress: `memory` (the head, and the whole body of small responses),
    /// then the bytes `offset..<end` of `source`.
    struct Response {
        enum Source {
            case none
            case file(Int32)
            case pattern
        }
        var memory: [UInt8]
        var memorySent = 0
        var source: Source = .none
        var offset: Int64 = 0
        var end: Int64 = 0
        var close: Bool

        var remaining: Int64 { Int64(memory.count - memorySent) + (end - offset) }

        func closeFile() {
            if case .file(let f) = source { _ = Foundation.close(f) }
        }
    }

    enum Outcome { case keep, close, abort }

    func service(_ fd: Int32, stack: inout Stack, effects: inout Effects) {
        guard let i = connections.index(forKey: fd) else { return }
        let outcome = serve(fd, &connections.values[i], stack: &stack, effects: &effects)
        end(fd, outcome, stack: &stack, effects: &effects)
    }

    /// Closes the connection (aborting it with a RST for `.abort`) unless `outcome` keeps it.
    func end(_ fd: Int32, _ outcome: Outcome, stack: inout Stack, effects: inout Effects) {
        guard outcome != .keep, let i = connections.index(forKey: fd) else { return }
        connections.values[i].response?.closeFile()
        connections.remove(at: i)
        if outcome == .abort { _ = stack.setOption(fd, .soLinger, 0) }
        _ = stack.close(fd, into: &effects)
    }

    // MARK: - Deadlines

    public var nextDeadline: Instant? { nextSweep }

    /// Checks every connection against its deadlines: a head past `headerTimeout` gets 408,
    /// a connection without progress for `idleTimeout` is closed (aborted when a response
    /// was still being sent).
    public func advance(to now: Instant, stack: inout Stack, effects: inout Effects) {
        var late: [Int32] = []
        var idle: [Int32] = []
        for (fd, c) in connections {
            if let h = c.headStarted, c.response == nil, !c.lingering, now.nanoseconds(since: h) >= limits.headerTimeout
            {
                late.append(fd)
            } else if now.nanoseconds(since: c.lastActivity) >= limits.idleTimeout {
                idle.append(fd)
            }
        }
        for fd in late {
            guard let i = connections.index(forKey: fd) else { continue }
            headerTimeouts += 1
            let received = connections.values[i].inbox.count
            trace?(.headerTimeout(port: port, fd: fd, received: received, after: limits.headerTimeout))
            connections.values[i].inbox = []
            connections.values[i].headStarted = nil
            connections.values[i].lastActivity = now
            connections.values[i].response = errorResponse(
                408,
                "Request Timeout",
                detail: "the request head did not arrive in time",
                close: true,
                head: false
            )
            service(fd, stack: &stack, effects: &effects)
        }
        for fd in idle {
            guard let c = connections[fd] else { continue }
            idleTimeouts += 1
            trace?(.idleTimeout(port: port, fd: fd, after: limits.idleTimeout))
            end(fd, c.response == nil ? .close : .abort, stack: &stack, effects: &effects)
        }
        nextSweep = connections.isEmpty ? nil : now.adding(nanoseconds: limits.sweepInterval)
    }

    enum WriteResult { case done, blocked, failed }

    /// Sends the response, writes the next ones, reads and parses requests, until the socket
    /// has nothing to read or the send buffer is full.
    func serve(_ fd: Int32, _ c: inout Connection, stack: inout Stack, effects: inout Effects) -> Outcome {
        let now = MonotonicClock.now()
        for _ in 0..<10_000 {
            if c.response != nil {
                let before = c.response!.remaining
                let written = write(fd, &c.response!, lowWater: c.lowWater, stack: &stack, effects: &effects)
                if c.response!.remaining != before { c.lastActivity = now }
                switch written {
                case .blocked: return .keep
                case .failed: return .abort
                case .done:
                    let close = c.response!.close
                    c.response!.closeFile()
                    c.response = nil
                    responses += 1
                    if close {
                        if c.peerEOF { return .close }
                        _ = stack.shutdown(fd, how: .write, into: &effects)
                        c.lingering = true
                    }
                }
            }
            if c.lingering {
                // Read and drop until the peer's FIN, so a late request cannot turn our close
                // into a reset (RFC 9112 §9.6, "tear-down").
                switch stack.receive(fd, discardingUpTo: Int.max, into: &effects) {
                case .success(let r):
                    if r.eof { return .close }
                    if r.count > 0 { c.lastActivity = now }
                    continue
                case .failure(let e): return e == .EAGAIN ? .keep : .close
                }
            }
            if c.skip > 0 && !c.inbox.isEmpty {
                let n = min(c.skip, c.inbox.count)
                c.inbox.removeFirst(n)
                c.skip -= n
                c.scanned = 0
            }
            if c.skip == 0 && !c.inbox.isEmpty {
                if c.headStarted == nil { c.headStarted = now }
                let result: HTTPParseResult =
                    HTTPRequestParser.mayHoldHead(c.inbox, from: c.scanned)
                    ? HTTPRequestParser.parse(c.inbox) : .incomplete
                switch result {
                case .request(let request, let consumed):
                    c.inbox.removeFirst(consumed)
                    c.scanned = 0
                    c.headStarted = nil
                    c.skip = request.contentLength
                    c.response = respond(to: request)
                    continue
                case .malformed(let why):
                    badRequests += 1
                    trace?(.badRequest(port: port, fd: fd, reason: why))
                    c.inbox = []
                    c.headStarted = nil
                    c.response = errorResponse(400, "Bad Request", detail: why, close: true, head: false)
                    continue
                case .incomplete:
                    c.scanned = c.inbox.count
                    if c.inbox.count > limits.maxHeadBytes {
                        // RFC 6585 §5, as Node.js and Go answer; then close.
                        headsTooLarge += 1
                        trace?(.headTooLarge(port: port, fd: fd, limit: limits.maxHeadBytes))
                        c.inbox = []
                        c.headStarted = nil
                        c.response = errorResponse(
                            431,
                            "Request Header Fields Too Large",
                            detail: "the request head is larger than \(limits.maxHeadBytes) bytes",
                            close: true,
                            head: false
                        )
                        continue
                    }
                }
            }
            if c.peerEOF { return .close }
            // Enough to see that a head is too large, and no more.
            let room =
                c.skip > 0 ? scratch.count : max(1, min(scratch.count, limits.maxHeadBytes + 2 - c.inbox.count))
            switch stack.receive(fd, to: scratch.prefix(room), into: &effects) {
            case .success(let r):
                if r.eof {
                    c.peerEOF = true
                    continue
                }
                c.lastActivity = now
                let data = UnsafeRawBufferPointer(scratch.prefix(r.count))
                let dropped = min(c.skip, r.count)
                c.skip -= dropped
                if dropped < r.count { c.inbox.append(contentsOf: data[dropped...]) }
            case .failure(let e):
                return e == .EAGAIN ? .keep : .abort
            }
        }
        return .keep
    }

    /// Hands the send buffer as much of the response as it has room for.
    func write(
        _ fd: Int32,
        _ r: inout Response,
        lowWater: Int,
        stack: inout Stack,
        effects: inout Effects
    ) -> WriteResult {
        for _ in 0..<1000 {
            let remaining = r.remaining
            if remaining == 0 { return .done }
            let free = StreamSupport.sendSpace(stack: stack, fd: fd)
            // Wait for a useful amount of room: fewer, larger file reads (the ACK that frees
            // more room brings another event).
            if free < min(Int64(lowWater), remaining) {
                // Unless the connection is gone (reset or closed): then nothing will drain.
                guard let ready = stack.readiness(fd), !ready.contains(.error), !ready.contains(.hangUp) else {
                    return .failed
                }
                return .blocked
            }
            let n = Int(min(Int64(min(free, scratch.count)), remaining))
            let m = min(n, r.memory.count - r.memorySent)
            if m > 0 {
                r.memory.withUnsafeBytes { p in
                    scratch.bytes.baseAddress!.copyMemory(from: p.baseAddress! + r.memorySent, byteCount: m)
                }
            }
            var filled = m
            if n > m {
                guard let got = fill(scratch.bytes.baseAddress! + m, count: n - m, from: r.source, at: r.offset) else {
                    return .failed
                }
                filled += got
            }
            switch stack.send(fd, UnsafeRawBufferPointer(scratch.prefix(filled)), into: &effects) {
            case .success(let k):
                let fromMemory = min(k, m)
                r.memorySent += fromMemory
                r.offset += Int64(k - fromMemory)
                if k < filled { return .blocked }
            case .failure(let e):
                return e == .EAGAIN ? .blocked : .failed
            }
        }
        return .blocked
    }

    /// Copies `count` bytes of `source` from `offset` to `dst`; nil when the file cannot be read
    /// (or has shrunk).
    func fill(_ dst: UnsafeMutableRawPointer, count: Int, from source: Response.Source, at offset: Int64) -> Int? {
        switch source {
        case .none:
            return 0
        case .pattern:
            Self.fillPattern(dst, count: count, at: offset)
            return count
        case .file(let f):
            var got = 0
            while got < count {
                let n = pread(f, dst + got, count - got, off_t(offset) + off_t(got))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return nil }
                got += n
            }
            return got
        }
    }

    /// Byte `i` of the `/bytes/N` pattern: byte `i mod 4` (little-endian) of
    /// `(i / 4) × 2654435761 mod 2³²`.
    public static func patternByte(at i: Int64) -> UInt8 {
        let word = UInt32(truncatingIfNeeded: i >> 2) &* 2_654_435_761
        return UInt8(truncatingIfNeeded: word >> (8 * UInt32(i & 3)))
    }

    static func fillPattern(_ dst: UnsafeMutableRawPointer, count: Int, at offset: Int64) {
        var i = 0
        // Up to a word boundary, then whole words, then the tail.
        while i < count && (offset + Int64(i)) & 3 != 0 {
            dst.storeBytes(of: patternByte(at: offset + Int64(i)), toByteOffset: i, as: UInt8.self)
            i += 1
        }
        var k = UInt32(truncatingIfNeeded: (offset + Int64(i)) >> 2)
        while count - i >= 4 {
            dst.storeBytes(of: (k &* 2_654_435_761).littleEndian, toByteOffset: i, as: UInt32.self)
            k &+= 1
            i += 4
        }
        while i < count {
            dst.storeBytes(of: patternByte(at: offset + Int64(i)), toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }

    // MARK: - Responses

    func respond(to request: HTTPRequest) -> Response {
        let head = request.method == "HEAD"
        guard request.method == "GET" || head else {
            // RFC 9110 §15.5.6: 405 lists the methods allowed.
            return errorResponse(
                405,
                "Method Not Allowed",
                detail: "\(request.method) is not supported",
                close: !request.keepAlive,
                head: false,
                extra: "Allow: GET, HEAD\r\n"
            )
        }
        guard let segments = request.pathSegments else {
            return errorResponse(400, "Bad Request", detail: "path leaves the root", close: true, head: head)
        }
        let close = !request.keepAlive
        guard let root else {
            return builtIn(segments, close: close, head: head, http10: request.minorVersion == 0)
        }
        var path = root + "/" + segments.joined(separator: "/")
        guard var real = canonical(path) else { return notFound(close: close, head: head) }
        var st = stat()
        guard stat(real, &st) == 0 else { return notFound(close: close, head: head) }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            path = real + "/index.html"
            guard let r = canonical(path), stat(r, &st) == 0 else { return notFound(close: close, head: head) }
            real = r
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return notFound(close: close, head: head) }
        let f = open(real, O_RDONLY | O_CLOEXEC)
        guard f >= 0 else { return notFound(close: close, head: head) }
        guard fstat(f, &st) == 0 else {
            _ = Foundation.close(f)
            return notFound(close: close, head: head)
        }
        let size = Int64(st.st_size)
        var r = Response(
            memory: responseHead(
                200,
                "OK",
                type: Self.contentType(real),
                length: size,
                close: close,
                http10KeepAlive: request.minorVersion == 0 && !close
            ),
            close: close
        )
        if head || size == 0 {
            _ = Foundation.close(f)
        } else {
            r.source = .file(f)
            r.end = size
        }
        return r
    }

    /// The path with symbolic links resolved, if it stays under the root.
    func canonical(_ path: String) -> String? {
        guard let root, let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        let real = String(cString: p)
        guard real == root || real.hasPrefix(root + "/") else { return nil }
        return real
    }

    func builtIn(_ segments: [String], close: Bool, head: Bool, http10: Bool) -> Response {
        if segments.isEmpty || segments == ["index.html"] {
            let body = Array(Self.indexPage.utf8)
            var memory = responseHead(
                200,
                "OK",
                type: "text/html; charset=utf-8",
                length: Int64(body.count),
                close: close,
                http10KeepAlive: http10 && !close
            )
            if !head { memory += body }
            return Response(memory: memory, close: close)
        }
        if segments.count == 2 && segments[0] == "bytes", let n = Int64(segments[1]), n >= 0, n <= Self.patternLimit {
            var r = Response(
                memory: responseHead(
                    200,
                    "OK",
                    type: "application/octet-stream",
                    length: n,
                    close: close,
                    http10KeepAlive: http10 && !close
                ),
                close: close
            )
            if !head {
                r.source = .pattern
                r.end = n
            }
            return r
        }
        return notFound(close: close, head: head)
    }

    func notFound(close: Bool, head: Bool) -> Response {
        errorResponse(404, "Not Found", detail: "no such file", close: close, head: head)
    }

    func errorResponse(
        _ code: Int,
        _ reason: String,
        detail: String,
        close: Bool,
        head: Bool,
        extra: String = ""
    ) -> Response {
        let body = Array("\(code) \(reason): \(detail)\n".utf8)
        var memory = responseHead(
            code,
            reason,
            type: "text/plain; charset=utf-8",
            length: Int64(body.count),
            close: close,
            http10KeepAlive: false,
            extra: extra
        )
        if !head { memory += body }
        return Response(memory: memory, close: close)
    }

    func responseHead(
        _ code: Int,
        _ reason: String,
        type: String,
        length: Int64,
        close: Bool,
        http10KeepAlive: Bool,
        extra: String = ""
    ) -> [UInt8] {
        var s = "HTTP/1.1 \(code) \(reason)\r\nServer: tcpip\r\nDate: \(date())\r\n"
        s += "Content-Type: \(type)\r\nContent-Length: \(length)\r\n"
        if close {
            s += "Connection: close\r\n"
        } else if http10KeepAlive {
            s += "Connection: keep-alive\r\n"
        }
        s += extra
        s += "\r\n"
        return Array(s.utf8)
    }

    /// The `Date` field (RFC 9110 §6.6.1, IMF-fixdate), formatted once a second.
    func date() -> String {
        var now = time(nil)
        if now != dateSecond {
            dateSecond = now
            var tm = tm()
            gmtime_r(&now, &tm)
            var buf = [CChar](repeating: 0, count: 64)
            let n = strftime(&buf, buf.count, "%a, %d %b %Y %H:%M:%S GMT", &tm)
            dateText = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return dateText
    }

    static func contentType(_ path: String) -> String {
        let ext = path.split(separator: "/").last?.split(separator: ".", omittingEmptySubsequences: false).last.map {
            $0.lowercased()
        }
        switch ext {
        case "html", "htm": return "text/html; charset=utf-8"
        case "txt", "md": return "text/plain; charset=utf-8"
        case "css": return "text/css"
        case "js": return "text/javascript"
        case "json": return "application/json"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "svg": return "image/svg+xml"
        case "pdf": return "application/pdf"
        default: return "application/octet-stream"
        }
    }

    static let indexPage = """
        <!DOCTYPE html>
        <html><head><title>tcpip</title></head>
        <body>
        <h1>Served by a user-space TCP/IP stack in Swift</h1>
        <p>Every byte of this page went through the stack's own TCP, IPv4 and Ethernet code.</p>
        <p><a href="/bytes/1048576">/bytes/N</a> returns N deterministic bytes.</p>
        </body></html>

        """
}
