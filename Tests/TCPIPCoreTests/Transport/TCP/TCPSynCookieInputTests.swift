import Testing

@testable import TCPIPCore

/// A listener whose SYN queue is full answers with SYN cookies and keeps no state (RFC 4987
/// §3.6, as Linux with tcp_syncookies=1); the final ACK that returns a valid cookie makes a
/// connection that is accepted and carries data like any other.
@Suite struct TCPSynCookieInputTests {
    static let irs = TCPScenario.peerISN
    static let iss = TCPScenario.defaultISS
    static let options = TCPOptions(
        mss: 1460,
        windowScale: 7,
        sackPermitted: true,
        timestamps: .init(value: 1000, echoReply: 0)
    )

    /// A listener with a backlog of 2 whose SYN queue holds two embryonic connections.
    /// The embryonic connections stay for minutes (their SYN,ACKs are retried for long).
    static func fullListener() -> (TCPScenario, Int32) {
        var sc = TCPScenario(tune: { $0.tcp.synAckRetries = 100 })
        let lfd = sc.listen(backlog: 2)
        for port: UInt16 in [41000, 41001] {
            sc.send(seq: irs, [.syn], from: port)
            sc.expectOne(seq: iss, flags: [.syn, .ack])
        }
        return (sc, lfd)
    }

    /// What the stack holds: connections in the table.
    static func connections(_ sc: TCPScenario) -> Int { sc.stack.tcp.byTuple.count }

    @Test func aFullSYNQueueAnswersWithACookieAndKeepsNoState() {
        var (sc, _) = Self.fullListener()
        let before = Self.connections(sc)
        sc.send(seq: Self.irs, [.syn], options: Self.options, from: 40000)
        guard let synAck = sc.expectOne(ack: Self.irs + 1, flags: [.syn, .ack]) else { return }
        // The cookie is the ISS, not the forced one a stored connection would take.
        #expect(synAck.seq != Self.iss)
        #expect(Self.connections(sc) == before)
        #expect(sc.stack.counters[.tcpSynCookiesSent] == 1)
        // The options the SYN offered are answered as a stored connection would answer them;
        // TSval's low 6 bits carry window scale 7 and SACK.
        #expect(synAck.options.mss == 1460 && synAck.options.windowScale != nil && synAck.options.sackPermitted)
        #expect(synAck.options.timestamps?.echoReply == 1000)
        #expect((synAck.options.timestamps?.value ?? 0) & 0x3F == 0x17)
        #expect(synAck.window == 65535)
    }

    @Test func theFinalACKMakesAConnectionThatCarriesData() {
        var (sc, lfd) = Self.fullListener()
        sc.send(seq: Self.irs, [.syn], options: Self.options, from: 40000)
        guard let synAck = sc.expectOne(flags: [.syn, .ack]), let tsval = synAck.options.timestamps?.value else {
            return
        }
        let hello = Array("hello".utf8)
        sc.send(
            seq: Self.irs + 1,
            ack: synAck.seq &+ 1,
            [.ack, .psh],
            window: 1000,
            options: TCPOptions(timestamps: .init(value: 1001, echoReply: tsval)),
            payload: hello,
            from: 40000
        )
        #expect(sc.stack.counters[.tcpSynCookiesValidated] == 1)
        guard let accepted = sc.accept(lfd).value else {
            Issue.record("the cookie connection was not queued for accept")
            return
        }
        #expect(accepted.port == 40000)
        let info = sc.info(accepted.fd)!
        #expect(info.state == .established)
        // What the cookie restored: MSS class 1460 less timestamps, window scale 7, SACK.
        #expect(info.mss == 1448 && info.windowScale?.send == 7 && info.sack && info.timestamps)
        // The window of the ACK is scaled by the restored shift (RFC 7323 §2.2).
        #expect(info.sndWnd == 1000 << 7)
        #expect(sc.read(accepted.fd).value?.bytes == hello)
        // Its TSvals go on from the cookie's: never behind it (the peer's PAWS, RFC 7323 §5).
        sc.write(accepted.fd, Array("world".utf8))
        let reply = sc.take().last
        #expect(reply?.payload == Array("world".utf8))
        #expect(reply?.ack == Self.irs + 1 + 5)
        if let v = reply?.options.timestamps?.value { #expect(Int32(bitPattern: v &- tsval) >= 0) }
        #expect(reply?.options.timestamps?.echoReply == 1001)
    }

    /// Without timestamps the cookie carries the MSS class alone: no window scale, no SACK.
    @Test func withoutTimestampsOnlyTheMSSClassSurvives() {
        var (sc, lfd) = Self.fullListener()
        sc.send(seq: Self.irs, [.syn], options: TCPOptions(mss: 1400, windowScale: 7, sackPermitted: true), from: 40000)
        guard let synAck = sc.expectOne(flags: [.syn, .ack]) else { return }
        sc.send(seq: Self.irs + 1, ack: synAck.seq &+ 1, [.ack], from: 40000)
        guard let accepted = sc.accept(lfd).value else {
            Issue.record("the cookie connection was not queued for accept")
            return
        }
        let info = sc.info(accepted.fd)!
        #expect(info.mss == 1300 && info.windowScale == nil && !info.sack && !info.timestamps)
    }

    @Test func aForgedCookieIsAnsweredWithAReset() {
        var (sc, _) = Self.fullListener()
        sc.send(seq: Self.irs, [.syn], from: 40000)
        guard let synAck = sc.expectOne(flags: [.syn, .ack]) else { return }
        let forged = synAck.seq ^ 0x00AB_CDEF
        sc.send(seq: Self.irs + 1, ack: forged, [.ack], from: 40000)
        sc.expectOne(seq: forged, flags: [.rst])
        #expect(sc.stack.counters[.tcpSynCookiesFailed] == 1)
        #expect(sc.stack.counters[.tcpSynCookiesValidated] == 0)
    }

    /// A cookie lives two minute-counter ticks (Linux MAX_SYNCOOKIE_AGE).
    @Test func aStaleCookieIsAnsweredWithAReset() {
        var (sc, lfd) = Self.fullListener()
        sc.send(seq: Self.irs, [.syn], from: 40000)
        guard let synAck = sc.expectOne(flags: [.syn, .ack]) else { return }
        sc.send(seq: Self.irs, [.syn], from: 40001)
        guard let second = sc.expectOne(flags: [.syn, .ack]) else { return }
        // 65 s later (the next minute) the first is still good.
        sc.send(seq: Self.irs + 1, ack: synAck.seq &+ 1, [.ack], from: 40000, at: Instant.seconds(65))
        _ = sc.take()
        #expect(sc.accept(lfd).value?.port == 40000)
        // Two minutes after it was made, the second is not. The listener overflowed again at
        // 110 s, so ACKs are still checked for cookies: this one fails.
        sc.send(seq: Self.irs, [.syn], from: 40002, at: Instant.seconds(110))
        _ = sc.take()
        sc.send(seq: Self.irs + 1, ack: second.seq &+ 1, [.ack], from: 40001, at: Instant.seconds(125))
        let answers = sc.take()
        #expect(answers.contains { $0.flags == [.rst] && $0.seq == second.seq &+ 1 })
        #expect(sc.stack.counters[.tcpSynCookiesFailed] == 1)
    }

    /// An ACK to a listener that has not overflowed lately is not taken for a cookie.
    @Test func anACKWithoutARecentOverflowIsNotChecked() {
        var sc = TCPScenario()
        _ = sc.listen(backlog: 2)
        sc.send(seq: Self.irs + 1, ack: 77, [.ack], from: 40000)
        sc.expectOne(seq: 77, flags: [.rst])
        #expect(sc.stack.counters[.tcpSynCookiesFailed] == 0)
    }

    /// A flood of SYNs from 100 000 spoofed 4-tuples: the table holds the SYN queue and no
    /// more, and a legitimate client still gets in.
    @Test func aFloodOfSpoofedSYNsCostsNoStateAndALegitimateClientConnects() {
        var sc = TCPScenario()
        let lfd = sc.listen(backlog: 128)
        for i in 0..<100_000 {
            let source = IPv4Address(10, 0, 0, UInt8(3 + i % 250))
            let port = UInt16(1024 + i / 250)
            sc.receive(Self.spoofedSYN(from: source, port: port, seq: UInt32(i)))
            if i % 1000 == 999 { _ = sc.take() }
        }
        _ = sc.take()
        #expect(Self.connections(sc) <= 128)
        #expect(sc.stack.counters[.tcpSynCookiesSent] >= 100_000 - 128)
        // The legitimate client completes through the cookie and sends data.
        sc.send(seq: Self.irs, [.syn], options: Self.options, from: 40000)
        guard let synAck = sc.expectOne(flags: [.syn, .ack]), let tsval = synAck.options.timestamps?.value else {
            return
        }
        sc.send(
            seq: Self.irs + 1,
            ack: synAck.seq &+ 1,
            [.ack],
            options: TCPOptions(timestamps: .init(value: 1001, echoReply: tsval)),
            payload: [1, 2, 3],
            from: 40000
        )
        guard let accepted = sc.accept(lfd).value else {
            Issue.record("the legitimate client was not accepted")
            return
        }
        #expect(accepted.port == 40000)
        #expect(sc.read(accepted.fd).value?.bytes == [1, 2, 3])
    }

    /// A SYN from a spoofed source on the link.
    static func spoofedSYN(from source: IPv4Address, port: UInt16, seq: UInt32) -> [UInt8] {
        let header = TCPHeader(
            sourcePort: port,
            destinationPort: 80,
            sequenceNumber: seq,
            acknowledgmentNumber: 0,
            flags: [.syn],
            window: 65535,
            options: TCPOptions(mss: 1460)
        )
        var tcp = [UInt8](repeating: 0, count: header.encodedLength)
        let total = tcp.count
        tcp.withUnsafeMutableBytes {
            _ = header.write(to: $0, at: 0, source: source, destination: TCPScenario.localIP, totalLength: total)
        }
        return Build.ethernet(
            to: TCPScenario.localMAC,
            from: TCPScenario.peerMAC,
            type: EtherType.ipv4,
            Build.ipv4(from: source, to: TCPScenario.localIP, protocol: IPProtocol.tcp, tcp)
        )
    }
}
