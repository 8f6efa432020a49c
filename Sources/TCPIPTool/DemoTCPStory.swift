import TCPIPCore

/// What the TCP story keeps between its sections.
struct DemoWebState {
    /// The server's listening descriptor, the connection `accept` returned, the browser's socket.
    var listener: Int32 = -1
    var serverConnection: Int32 = -1
    var browserConnection: Int32 = -1
    /// The response the server writes, and what the browser has read of it.
    var response: [UInt8] = []
    var received: [UInt8] = []
    /// The server's congestion window when last narrated.
    var lastCwnd = 0
}

/// The TCP story: a browser fetches a page from a server, from `socket` to TIME-WAIT.
extension DemoScript {
    static let httpPort: UInt16 = 80
    /// The browser asks for a small receive buffer (Linux doubles it to 48 KiB, 33 full
    /// segments and a bit), so that flow control shows within one page.
    static let browserReceiveBuffer = 24576
    /// How long the browser takes before it reads what has arrived (shorter than the 40 ms
    /// delayed-ACK timer, so its read finds an ACK still waiting).
    static let readPause: Int64 = 5_000_000

    static var tcpSections: [Section] {
        [
            Section(
                title: "Sockets",
                explanation: """
                    A program asks its stack for a socket and gets a descriptor, a small integer. The server binds a \
                    stream (TCP) socket to port 80 and listens; the browser makes one too, with a small receive \
                    buffer: the most its stack will hold for it unread.
                    """,
                play: { $0.tcpSockets() }
            ),
            Section(
                title: "connect() and ARP",
                explanation: """
                    connect() sends a SYN to 10.0.0.2, port 80. To put it in an Ethernet frame the browser needs the \
                    server's MAC address: the SYN waits while ARP broadcasts "who has 10.0.0.2?", and the answer \
                    releases it.
                    """,
                play: { $0.tcpConnectAndARP() },
                pause: 0
            ),
            Section(
                title: "The three-way handshake",
                explanation: """
                    SYN, SYN+ACK, ACK. Each side picks an initial sequence number (ISN) and acknowledges the other's \
                    ISN+1. The SYNs carry options: maximum segment size (MSS), window scale, SACK, timestamps. Later \
                    sequence numbers are shown relative to the ISNs, as in Wireshark.
                    """,
                play: { $0.tcpHandshake() }
            ),
            Section(
                title: "The request and the response",
                explanation: """
                    The browser sends an HTTP GET. The server reads it and acknowledges it at once, offering its \
                    real window (its SYN+ACK said 65535: a SYN's window is never scaled). Its 60 KB answer is cut at \
                    the MSS; the congestion window lets 10 segments go at first (RFC 6928).
                    """,
                play: { $0.tcpRequestResponse() },
                pause: 0
            ),
            Section(
                title: "Acknowledgments and the round-trip time",
                explanation: """
                    An ACK number is the next byte expected. The browser acknowledges every second full segment (RFC \
                    9293 §3.8.6.3). The timestamps the ACKs echo time the round trip, in whole-millisecond ticks \
                    (RFC 7323), and give the retransmission timeout, RTO (RFC 6298).
                    """,
                play: { $0.tcpAcksAndRTT() },
                pause: 0
            ),
            Section(
                title: "Windows: slow start and flow control",
                explanation: """
                    The server keeps in flight no more than the smaller of two windows: its congestion window \
                    (cwnd), which slow start grows by one MSS per ACK (RFC 5681), and the browser's advertised \
                    window, the room left in its receive buffer, which shrinks while the data sits there unread.
                    """,
                play: { $0.tcpWindows() },
                pause: 0
            ),
            Section(
                title: "A delayed ACK rides on a window update",
                explanation: """
                    The browser holds back the ACK of the last segment (for up to 40 ms) in case it can ride on \
                    something. 5 ms later the application reads: the buffer empties, the window opens, and one \
                    segment carries both the ACK and the new window.
                    """,
                play: { $0.tcpWindowUpdate() },
                pause: 0
            ),
            Section(
                title: "A lost segment",
                explanation: """
                    The server sends the rest; the wire loses one segment on purpose. Each later segment draws a \
                    duplicate ACK at once, its SACK blocks telling what arrived beyond the hole. The third makes the \
                    server resend before its 200 ms RTO: fast retransmit, fast recovery (RFC 5681, 6582).
                    """,
                play: { $0.tcpLoss() },
                pause: 0
            ),
            Section(
                title: "The browser reads the page",
                explanation: """
                    The application gets a plain stream of bytes: no segments, no hole, no duplicate.
                    """,
                play: { $0.tcpRead() }
            ),
            Section(
                title: "Closing: FIN and TIME-WAIT",
                explanation: """
                    The browser has the whole page (Content-Length says how much) and closes first; each side's FIN \
                    is acknowledged by the other. The side that closed first stays in TIME-WAIT for 2×MSL (60 s, as \
                    Linux), so that no late segment can be taken for part of a new connection.
                    """,
                play: { $0.tcpClose() }
            ),
        ]
    }

    // MARK: - Sections

    mutating func tcpSockets() {
        let s = Self.server
        let b = Self.browser
        let l = callQuietly(s, "socket(AF_INET, SOCK_STREAM, 0)") { st, _ in st.socket(.stream) } ?? -1
        web.listener = l
        call(s, "bind(\(l), 0.0.0.0:\(Self.httpPort))") { st, _ in st.bind(l, port: Self.httpPort) }
        call(s, "listen(\(l), 128)") { st, _ in st.listen(l, backlog: 128) }
        let fd = callQuietly(b, "socket(AF_INET, SOCK_STREAM, 0)") { st, _ in st.socket(.stream) } ?? -1
        web.browserConnection = fd
        call(b, "setsockopt(\(fd), SOL_SOCKET, SO_RCVBUF, \(Self.browserReceiveBuffer))") { st, _ in
            st.setOption(fd, .soRcvBuf, Self.browserReceiveBuffer)
        }
        if case .success(let v?) = net.stacks[b].option(fd, .soRcvBuf) {
            narrator.say(b, .socket, "receive buffer: \(v) bytes (Linux doubles what is asked, for its bookkeeping)")
        }
    }

    mutating func tcpConnectAndARP() {
        let fd = web.browserConnection
        call(Self.browser, "connect(\(fd), 10.0.0.2:\(Self.httpPort))") { st, fx in
            st.connect(fd, address: Self.addresses[Self.server], port: Self.httpPort, into: &fx)
        }
        // The section ends when the queued SYN leaves; the handshake section begins with it.
        narrator.holdPredicate = { host, layer in host == Self.browser && layer == .tcp }
        playUntilHeld()
    }

    mutating func tcpHandshake() {
        play()
        let l = web.listener
        web.serverConnection =
            callQuietly(Self.server, "accept(\(l))") { st, fx in st.accept(l, into: &fx) }?.fd ?? -1
        if let i = info(Self.server, web.serverConnection) {
            let scale =
                i.windowScale.map { "window shifts \($0.send)/\($0.receive) (browser/server)" } ?? "no window scaling"
            let extras = [i.sack ? "SACK" : nil, i.timestamps ? "timestamps" : nil].compactMap { $0 }
            narrator.say(
                Self.server,
                .tcp,
                "agreed: MSS \(i.mss)\(i.timestamps ? " (\(i.mss + 12) − 12 for timestamps)" : ""), \(scale), "
                    + (extras.isEmpty ? "no SACK, no timestamps" : extras.joined(separator: " and ") + " on")
            )
        }
    }

    mutating func tcpRequestResponse() {
        let fd = web.browserConnection
        let get = Array("GET / HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: tcpip-demo\r\n\r\n".utf8)
        callQuietly(Self.browser, "send(\(fd), \(demoPreview(get, limit: 16)), \(get.count))") {
            st,
            fx in
            get.withUnsafeBytes { st.send(fd, $0, into: &fx) }
        }
        play()
        let sfd = web.serverConnection
        _ = streamReceive(Self.server, sfd, max: 4096)
        web.response = Self.page()
        let page = web.response
        web.lastCwnd = info(Self.server, sfd)?.cwnd ?? 0
        callQuietly(
            Self.server,
            "send(\(sfd), <HTTP/1.1 200 OK and a page: \(page.count) bytes>, \(page.count))"
        ) {
            st,
            fx in
            page.withUnsafeBytes { st.send(sfd, $0, into: &fx) }
        }
        if let i = info(Self.server, sfd) {
            narrator.say(
                Self.server,
                .tcp,
                "all \(page.count) bytes fit in the send buffer; in flight: \(Int(i.sndNxt &- i.sndUna)) bytes, "
                    + "the initial cwnd"
            )
        }
    }

    mutating func tcpAcksAndRTT() {
        // The section ends when the server, having taken the ACKs, sends again.
        narrator.holdPredicate = { host, layer in host == Self.server && layer == .tcp }
        playUntilHeld()
        guard let i = info(Self.server, web.serverConnection), let srtt = i.srttMicroseconds else { return }
        let computed = srtt + max(1000, 4 * i.rttvarMicroseconds)
        narrator.remark(
            Self.server,
            .tcp,
            "SRTT \(demoDuration(srtt * 1000)), RTTVAR \(demoDuration(i.rttvarMicroseconds * 1000)); "
                + "SRTT + max(1 ms, 4·RTTVAR) = \(demoDuration(computed * 1000)): RTO = "
                + (i.rtoMicroseconds > computed ? "200 ms, the floor" : demoDuration(i.rtoMicroseconds * 1000))
        )
    }

    mutating func tcpWindows() {
        narrator.releaseHeld()
        narrateWindows()
        while net.framesInFlight > 0, step() {
            narrateWindows()
        }
    }

    /// One line on the server's windows when an ACK moved them.
    private mutating func narrateWindows() {
        guard let i = info(Self.server, web.serverConnection), i.cwnd != web.lastCwnd || i.sndUna == i.sndNxt else {
            return
        }
        let inFlight = Int(i.sndNxt &- i.sndUna)
        let limit = i.sndWnd < i.cwnd ? "the window rules" : "cwnd rules"
        narrator.remark(
            Self.server,
            .tcp,
            "cwnd \(web.lastCwnd) → \(i.cwnd), browser's window \(i.sndWnd), in flight \(inFlight): \(limit)"
        )
        web.lastCwnd = i.cwnd
    }

    mutating func tcpWindowUpdate() {
        let fd = web.browserConnection
        if let i = info(Self.browser, fd) {
            let received = Int(i.rcvNxt &- i.irs)
            let acked = narrator.lastAck(from: Self.browser, port: localPort(Self.browser, fd)) ?? received
            narrator.say(
                Self.browser,
                .tcp,
                "has up to \(received), acknowledged \(acked)"
                    + (acked < received ? " (an ACK is delayed)" : "")
                    + "; \(i.receiveQueue) bytes unread, window \(i.rcvWnd)"
            )
        }
        advance(by: Self.readPause)
        _ = streamReceive(Self.browser, fd, max: 65536)
    }

    mutating func tcpLoss() {
        // Lose the second data segment the server sends from here on.
        narrator.lose = (Self.server, narrator.dataSegmentsSent[Self.server] + 2)
        // Until the server has sent everything and has it acknowledged, timers included.
        var steps = 0
        while let i = info(Self.server, web.serverConnection), i.sendQueue > 0, steps < 10_000, step() { steps += 1 }
        guard let i = info(Self.server, web.serverConnection) else { return }
        // Which mechanism repaired the hole, from the server's counters.
        let c = net.stacks[Self.server].counters
        let how =
            c[.tcpFastRetransmits] > 0
            ? "by fast retransmit"
            : c[.tcpRetransmitTimeouts] > 0 ? "by the retransmission timer (RTO)" : "without a resend"
        narrator.remark(
            Self.server,
            .tcp,
            "recovered \(how): ssthresh \(i.ssthresh.map(String.init) ?? "none") (half the flight), cwnd \(i.cwnd), "
                + "\(i.retransmitsTotal) segment\(i.retransmitsTotal == 1 ? "" : "s") resent"
        )
    }

    mutating func tcpRead() {
        let fd = web.browserConnection
        _ = streamReceive(Self.browser, fd, max: 65536)
        let text = String(decoding: web.received, as: UTF8.self)
        let firstLine = text.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
        let headerEnd = text.range(of: "\r\n\r\n")
        let bodyBytes = headerEnd.map { text[$0.upperBound...].utf8.count } ?? 0
        narrator.say(
            Self.browser,
            .app,
            "the page: \(web.received.count) bytes, \"\(firstLine)\", a body of \(bodyBytes) bytes; "
                + (web.received == web.response ? "exactly as sent" : "NOT as sent!")
        )
    }

    mutating func tcpClose() {
        let fd = web.browserConnection
        call(Self.browser, "close(\(fd))") { st, fx in st.close(fd, into: &fx) }
        play()
        let sfd = web.serverConnection
        _ = streamReceive(Self.server, sfd, max: 4096)
        call(Self.server, "close(\(sfd))") { st, fx in st.close(sfd, into: &fx) }
        play()
        for row in net.stacks[Self.browser].netstat() where row.proto == "tcp" {
            let local = row.local.map { "\($0.address):\($0.port)" } ?? "-"
            let remote = row.remote.map { "\($0.address):\($0.port)" } ?? "-"
            narrator.say(
                Self.browser,
                .tcp,
                "netstat: \(local) ↔ \(remote) \(row.state ?? "")\(row.fd == nil ? " (no descriptor: it outlives the socket)" : "")"
            )
        }
        narrator.say(Self.browser, .tcp, "… 2×MSL of virtual time passes …")
        advance(by: net.stacks[Self.browser].configuration.tcp.timeWait)
        if verbose {
            let l = web.listener
            call(Self.server, "close(\(l))") { st, fx in st.close(l, into: &fx) }
        }
    }

    // MARK: - Helpers

    /// The local port of a socket.
    func localPort(_ host: Int, _ fd: Int32) -> UInt16 {
        guard case .success(let a) = net.stacks[host].localAddress(fd) else { return 0 }
        return a.port
    }

    /// The control block of a stream socket, as `tcpInfo` reads it.
    func info(_ host: Int, _ fd: Int32) -> TCPInfo? {
        guard case .success(let i?) = net.stacks[host].tcpInfo(fd) else { return nil }
        return i
    }

    /// `recv` on a stream socket, narrated; the browser's bytes are kept in `web.received`.
    mutating func streamReceive(_ host: Int, _ fd: Int32, max: Int) -> [UInt8]? {
        narrator.now = net.now
        narrator.say(host, .app, "recv(\(fd), \(max))")
        switch net.perform(on: host, { s, fx in s.receive(fd, max: max, into: &fx) }) {
        case .success(let r):
            if r.eof {
                narrator.say(host, .app, "→ 0 bytes: end of file, the peer has closed its side")
            } else {
                narrator.say(host, .app, "→ \(r.bytes.count) bytes: \(demoPreview(r.bytes, limit: 40))")
            }
            if host == Self.browser { web.received += r.bytes }
            narrateEvents()
            return r.bytes
        case .failure(let e):
            narrator.say(host, .app, "→ failed: \(e)")
            narrateEvents()
            return nil
        }
    }

    /// The server's answer: a status line, headers and an HTML page, about 60 KB in all: more
    /// than the browser's window, and enough beyond it for a lost segment to be followed by
    /// three more.
    static func page() -> [UInt8] {
        var body = "<!DOCTYPE html>\n<html><head><title>swift-tcpip</title></head><body>\n"
        var n = 1
        while body.utf8.count < 59_900 {
            body += "<p>Line \(n) of a page served by a TCP/IP stack written in Swift.</p>\n"
            n += 1
        }
        body += "</body></html>\n"
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        return Array((head + body).utf8)
    }
}
