import Testing

@testable import TCPIPCore

/// One TCP segment the stack transmitted, taken apart with the wire parsers.
struct Segment: CustomStringConvertible {
    /// The virtual time it was sent at.
    var time: Instant
    var sourcePort: UInt16
    var destinationPort: UInt16
    var seq: UInt32
    var ack: UInt32
    var flags: TCPFlags
    var window: UInt16
    var options: TCPOptions
    var payload: [UInt8]

    /// SEG.LEN (RFC 9293 §3.4).
    var length: Int { payload.count + (flags.contains(.syn) ? 1 : 0) + (flags.contains(.fin) ? 1 : 0) }

    var description: String {
        "\(flags) \(sourcePort)>\(destinationPort) seq \(seq) ack \(ack) win \(window) len \(payload.count) at \(time)"
    }
}

/// The peer's bookkeeping for one connection: what it sends next and what it expects next.
struct PeerConnection {
    /// The stack's descriptor for the connection (nil until accepted).
    var fd: Int32?
    /// The peer's port.
    var peerPort: UInt16
    /// The stack's port.
    var localPort: UInt16
    /// The stack's ISS and the peer's ISN.
    var iss: UInt32
    var irs: UInt32
    /// The peer's next sequence number (the stack's RCV.NXT once it took everything).
    var seq: UInt32
    /// The next sequence number the peer expects from the stack (its RCV.NXT).
    var ack: UInt32
}

/// One stack (10.0.0.2) driven by hand from a peer (10.0.0.1) that exists only as the segments
/// a test builds: segments in at a virtual time, the segments the stack answered with out.
struct TCPScenario {
    static let localIP = IPv4Address(10, 0, 0, 2)
    static let localMAC = MACAddress(0x02, 0, 0, 0, 0, 0x0B)
    static let peerIP = IPv4Address(10, 0, 0, 1)
    static let peerMAC = MACAddress(0x02, 0, 0, 0, 0, 0x0A)
    /// The stack's ISS unless a test asks otherwise, and the peer's ISN.
    static let defaultISS: UInt32 = 100_000
    static let peerISN: UInt32 = 5_000

    var stack: Stack
    var effects = Effects()
    var now: Instant = .zero
    /// TCP segments the stack sent and the test has not taken yet.
    var output: [Segment] = []
    /// Other frames (ARP, ICMP) the stack sent. ARP requests for the peer are answered at once.
    var otherFrames: [Decoded] = []
    var events: [SocketEvent] = []

    /// A stack with one interface, 10.0.0.2/24, that already knows the peer's MAC address.
    /// `iss` forces the ISS of every new connection (nil: the RFC 6528 generator).
    init(
        seed: UInt64 = 1,
        mtu: Int = 1500,
        iss: UInt32? = TCPScenario.defaultISS,
        tune: (inout StackConfiguration) -> Void = { _ in }
    ) {
        var configuration = StackConfiguration(interfaces: [
            Interface(
                name: "sim0",
                mac: Self.localMAC,
                mtu: mtu,
                network: IPv4Network(address: Self.localIP, prefixLength: 24)
            )
        ])
        tune(&configuration)
        stack = Stack(configuration: configuration, seed: seed)
        stack.tcp.issOverride = iss.map { SequenceNumber($0) }
        // RFC 826: the target of a request learns its sender.
        receive(
            Build.arp(ARPOperation.request, senderMAC: Self.peerMAC, senderIP: Self.peerIP, targetIP: Self.localIP)
        )
        output.removeAll()
        otherFrames.removeAll()
    }

    // MARK: Time

    /// Moves the clock to `t`, firing every timer at its own instant on the way.
    mutating func advance(to t: Instant) {
        var steps = 0
        while let d = stack.nextDeadline(), d <= t, steps < 1_000_000 {
            if d > now { now = d }
            stack.advance(to: now, into: &effects)
            collect()
            steps += 1
        }
        if t > now { now = t }
        stack.advance(to: now, into: &effects)
        collect()
    }

    mutating func advance(ms: Int64) { advance(to: now.adding(milliseconds: ms)) }
    mutating func advance(seconds: Int64) { advance(to: now.adding(seconds: seconds)) }

    // MARK: Frames in and out

    /// Feeds one frame at the current time, with the device's offload metadata.
    mutating func receive(_ frame: [UInt8], offload: FrameOffload = .none) {
        let t = now
        frame.withUnsafeBytes { stack.receive(frame: $0, interface: 0, now: t, offload: offload, into: &effects) }
        collect()
    }

    /// A TCP segment from the peer, with a correct checksum.
    static func segment(
        seq: UInt32,
        ack: UInt32,
        flags: TCPFlags,
        window: UInt16,
        options: TCPOptions,
        payload: [UInt8],
        from sourcePort: UInt16,
        to destinationPort: UInt16
    ) -> [UInt8] {
        let header = TCPHeader(
            sourcePort: sourcePort,
            destinationPort: destinationPort,
            sequenceNumber: seq,
            acknowledgmentNumber: ack,
            flags: flags,
            window: window,
            options: options
        )
        let headerLength = header.encodedLength
        var tcp = [UInt8](repeating: 0, count: headerLength) + payload
        let total = tcp.count
        tcp.withUnsafeMutableBytes {
            _ = header.write(to: $0, at: 0, source: peerIP, destination: localIP, totalLength: total)
        }
        return tcp
    }

    /// The peer sends a segment (at `time`, after firing the timers due before it).
    mutating func send(
        seq: UInt32,
        ack: UInt32 = 0,
        _ flags: TCPFlags,
        window: UInt16 = 65535,
        options: TCPOptions = TCPOptions(),
        payload: [UInt8] = [],
        from sourcePort: UInt16 = 40000,
        to destinationPort: UInt16 = 80,
        at time: Instant? = nil
    ) {
        if let time { advance(to: time) }
        let tcp = Self.segment(
            seq: seq,
            ack: ack,
            flags: flags,
            window: window,
            options: options,
            payload: payload,
            from: sourcePort,
            to: destinationPort
        )
        receive(ipFrame(protocol: IPProtocol.tcp, tcp))
    }

    /// The peer sends a segment on `c`'s ports.
    mutating func send(
        _ c: PeerConnection,
        seq: UInt32? = nil,
        ack: UInt32? = nil,
        _ flags: TCPFlags = [.ack],
        window: UInt16 = 65535,
        options: TCPOptions = TCPOptions(),
        payload: [UInt8] = [],
        at time: Instant? = nil
    ) {
        send(
            seq: seq ?? c.seq,
            ack: ack ?? c.ack,
            flags,
            window: window,
            options: options,
            payload: payload,
            from: c.peerPort,
            to: c.localPort,
            at: time
        )
    }

    /// An IPv4 frame from the peer to the stack.
    func ipFrame(protocol proto: UInt8, _ payload: [UInt8]) -> [UInt8] {
        Build.ethernet(
            to: Self.localMAC,
            from: Self.peerMAC,
            type: EtherType.ipv4,
            Build.ipv4(from: Self.peerIP, to: Self.localIP, protocol: proto, payload)
        )
    }

    /// Returns and forgets the TCP segments sent so far.
    mutating func take() -> [Segment] {
        defer { output.removeAll() }
        return output
    }

    private mutating func collect() {
        let t = now
        var frames: [[UInt8]] = []
        effects.frames.forEachFrame { _, frame in frames.append(Array(frame)) }
        events.append(contentsOf: effects.events)
        effects.removeAll()
        var arpReplies: [[UInt8]] = []
        for frame in frames {
            guard let d = Decoded(frame) else {
                Issue.record("the stack sent a frame the parsers reject")
                continue
            }
            if let arp = d.arp, d.isARPRequest, arp.targetIP == Self.peerIP {
                // The stack re-validates the peer's entry now and then (RFC 1122 §2.3.2.1).
                arpReplies.append(
                    Build.arp(
                        ARPOperation.reply,
                        senderMAC: Self.peerMAC,
                        senderIP: Self.peerIP,
                        targetMAC: Self.localMAC,
                        targetIP: Self.localIP
                    )
                )
            }
            guard let ip = d.ip, ip.protocol == IPProtocol.tcp, !ip.isFragment else {
                otherFrames.append(d)
                continue
            }
            #expect(ip.source == Self.localIP && ip.destination == Self.peerIP)
            let transport = Array(d.ipPacket[ip.headerLength...])
            let parsed = transport.withUnsafeBytes {
                TCPHeader.parse($0, source: ip.source, destination: ip.destination)
            }
            guard case .success(let h) = parsed else {
                Issue.record("the stack sent a TCP segment the parser rejects: \(parsed)")
                continue
            }
            output.append(
                Segment(
                    time: t,
                    sourcePort: h.sourcePort,
                    destinationPort: h.destinationPort,
                    seq: h.sequenceNumber,
                    ack: h.acknowledgmentNumber,
                    flags: h.flags,
                    window: h.window,
                    options: h.options,
                    payload: Array(transport[h.dataOffset...])
                )
            )
        }
        for reply in arpReplies { receive(reply) }
    }

    // MARK: Expectations

    /// Takes exactly one segment and checks the fields given.
    @discardableResult
    mutating func expectOne(
        seq: UInt32? = nil,
        ack: UInt32? = nil,
        flags: TCPFlags? = nil,
        window: UInt16? = nil,
        length: Int? = nil,
        at time: Instant? = nil,
        _ comment: String = "",
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Segment? {
        let segments = take()
        guard segments.count == 1 else {
            Issue.record("expected one segment \(comment), got \(segments)", sourceLocation: sourceLocation)
            return segments.first
        }
        let s = segments[0]
        Self.check(
            s,
            seq: seq,
            ack: ack,
            flags: flags,
            window: window,
            length: length,
            at: time,
            comment,
            sourceLocation
        )
        return s
    }

    /// Checks the fields given of one segment.
    static func check(
        _ s: Segment,
        seq: UInt32? = nil,
        ack: UInt32? = nil,
        flags: TCPFlags? = nil,
        window: UInt16? = nil,
        length: Int? = nil,
        at time: Instant? = nil,
        _ comment: String = "",
        _ sourceLocation: SourceLocation
    ) {
        if let seq { #expect(s.seq == seq, "seq \(comment) in \(s)", sourceLocation: sourceLocation) }
        if let ack { #expect(s.ack == ack, "ack \(comment) in \(s)", sourceLocation: sourceLocation) }
        if let flags { #expect(s.flags == flags, "flags \(comment) in \(s)", sourceLocation: sourceLocation) }
        if let window { #expect(s.window == window, "window \(comment) in \(s)", sourceLocation: sourceLocation) }
        if let length {
            #expect(s.payload.count == length, "length \(comment) in \(s)", sourceLocation: sourceLocation)
        }
        if let time { #expect(s.time == time, "time \(comment) in \(s)", sourceLocation: sourceLocation) }
    }

    /// Checks that nothing was sent.
    mutating func expectNone(_ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        let segments = take()
        #expect(segments.isEmpty, "expected no segment \(comment), got \(segments)", sourceLocation: sourceLocation)
    }

    // MARK: Socket calls

    mutating func socket() -> Int32 {
        try! stack.socket(.stream).get()
    }

    /// A listening socket on `port`.
    mutating func listen(port: UInt16 = 80, backlog: Int = 8) -> Int32 {
        let fd = socket()
        #expect(stack.bind(fd, port: port).error == nil)
        #expect(stack.listen(fd, backlog: backlog).error == nil)
        return fd
    }

    mutating func accept(_ lfd: Int32) -> Result<(fd: Int32, address: IPv4Address, port: UInt16), Errno> {
        let r = stack.accept(lfd, into: &effects)
        collect()
        return r
    }

    /// `connect` from `localPort` (bound first when given) to the peer's `port`.
    mutating func connect(
        port: UInt16 = 40000,
        localPort: UInt16? = 50000,
        options: (Int32, inout Stack) -> Void = { _, _ in }
    )
        -> Int32
    {
        let fd = socket()
        options(fd, &stack)
        if let localPort { #expect(stack.bind(fd, port: localPort).error == nil) }
        let r = stack.connect(fd, address: Self.peerIP, port: port, into: &effects)
        collect()
        #expect(r.error == nil)
        return fd
    }

    @discardableResult
    mutating func write(_ fd: Int32, _ bytes: [UInt8]) -> Result<Int, Errno> {
        let r = bytes.withUnsafeBytes { stack.send(fd, $0, into: &effects) }
        collect()
        return r
    }

    mutating func read(_ fd: Int32, max: Int = 1 << 20) -> Result<(bytes: [UInt8], eof: Bool), Errno> {
        let r = stack.receive(fd, max: max, into: &effects)
        collect()
        return r
    }

    mutating func close(_ fd: Int32) {
        let r = stack.close(fd, into: &effects)
        collect()
        #expect(r.error == nil)
    }

    mutating func shutdown(_ fd: Int32, _ how: ShutdownHow) {
        let r = stack.shutdown(fd, how: how, into: &effects)
        collect()
        #expect(r.error == nil)
    }

    mutating func setOption(_ fd: Int32, _ option: SocketOption, _ value: Int?) {
        #expect(stack.setOption(fd, option, value).error == nil)
        collect()
    }

    func info(_ fd: Int32) -> TCPInfo? { stack.tcpInfo(fd).value ?? nil }

    /// The state of `fd`'s connection.
    func state(_ fd: Int32) -> TCPState? { info(fd)?.state }

    /// The state of the descriptor-less connection to the peer's `port` (netstat), nil when gone.
    func orphanState(peerPort: UInt16 = 40000) -> String? {
        stack.netstat().first { $0.fd == nil && $0.remote?.port == peerPort }?.state
    }

    // MARK: Handshakes

    /// A passive open: `listen` on `port` (unless `listener` is given), the peer's SYN with
    /// `options`, the stack's SYN,ACK, the peer's ACK, `accept`.
    mutating func passiveOpen(
        port: UInt16 = 80,
        peerPort: UInt16 = 40000,
        listener: Int32? = nil,
        options: TCPOptions = TCPOptions(),
        window: UInt16 = 65535,
        ackOptions: TCPOptions = TCPOptions(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> PeerConnection {
        let lfd = listener ?? listen(port: port)
        send(seq: Self.peerISN, [.syn], window: window, options: options, from: peerPort, to: port)
        let synAck = expectOne(flags: [.syn, .ack], sourceLocation: sourceLocation)
        let iss = synAck?.seq ?? 0
        var c = PeerConnection(
            fd: nil,
            peerPort: peerPort,
            localPort: port,
            iss: iss,
            irs: Self.peerISN,
            seq: Self.peerISN &+ 1,
            ack: iss &+ 1
        )
        send(c, window: window, options: ackOptions)
        expectNone("after the handshake's ACK", sourceLocation: sourceLocation)
        let a = accept(lfd)
        #expect(a.value?.port == peerPort, sourceLocation: sourceLocation)
        c.fd = a.value?.fd
        return c
    }

    /// An active open: `connect`, the stack's SYN, the peer's SYN,ACK with `options`, the
    /// stack's ACK.
    mutating func activeOpen(
        peerPort: UInt16 = 40000,
        localPort: UInt16 = 50000,
        options: TCPOptions = TCPOptions(),
        window: UInt16 = 65535,
        peerISN: UInt32 = TCPScenario.peerISN,
        socketOptions: (Int32, inout Stack) -> Void = { _, _ in },
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> PeerConnection {
        let fd = connect(port: peerPort, localPort: localPort, options: socketOptions)
        let syn = expectOne(flags: [.syn], sourceLocation: sourceLocation)
        let iss = syn?.seq ?? 0
        var c = PeerConnection(
            fd: fd,
            peerPort: peerPort,
            localPort: localPort,
            iss: iss,
            irs: peerISN,
            seq: peerISN,
            ack: iss &+ 1
        )
        send(c, [.syn, .ack], window: window, options: options)
        c.seq = peerISN &+ 1
        expectOne(seq: iss &+ 1, ack: c.seq, flags: [.ack], sourceLocation: sourceLocation)
        #expect(state(fd) == .established, sourceLocation: sourceLocation)
        return c
    }
}

extension Instant {
    static func ms(_ n: Int64) -> Instant { Instant(nanoseconds: n * 1_000_000) }
    static func seconds(_ n: Int64) -> Instant { Instant(nanoseconds: n * 1_000_000_000) }
}
