import Testing

@testable import TCPIPCore

/// The three-way handshake (RFC 9293 §3.5, §3.10.7.2, §3.10.7.3) and option negotiation
/// (RFC 9293 §3.7.1, RFC 7323, RFC 2018), one stack against a hand-driven peer.
@Suite struct TCPHandshakeTests {
    static let iss = TCPScenario.defaultISS
    static let irs = TCPScenario.peerISN
    static let allOptions = TCPOptions(
        mss: 1460,
        windowScale: 7,
        sackPermitted: true,
        timestamps: .init(value: 1000, echoReply: 0)
    )

    @Test func passiveOpenWithoutOptions() {
        var sc = TCPScenario()
        let lfd = sc.listen()
        sc.send(seq: Self.irs, [.syn])
        // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, with our MSS and nothing the peer did not offer.
        let synAck = sc.expectOne(seq: Self.iss, ack: Self.irs + 1, flags: [.syn, .ack], window: 65535)
        #expect(synAck?.options == TCPOptions(mss: 1460))
        #expect(sc.accept(lfd).error == .EAGAIN)
        sc.send(seq: Self.irs + 1, ack: Self.iss + 1, [.ack])
        sc.expectNone()
        let fd = sc.accept(lfd).value!.fd
        let info = sc.info(fd)!
        #expect(info.state == .established)
        // RFC 9293 §3.7.1 (MUST-15): no MSS option → 536.
        #expect(info.mss == 536)
        #expect(info.windowScale == nil && !info.sack && !info.timestamps)
        // RFC 6928: IW = min(10·MSS, max(2·MSS, 14600)); the SYN's ACK does not grow it (RFC 5681:
        // cwnd grows for ACKs of new data).
        #expect(info.cwnd == 5360)
        #expect(info.sndUna == Self.iss + 1 && info.sndNxt == Self.iss + 1 && info.rcvNxt == Self.irs + 1)
        #expect(info.sndWnd == 65535)
    }

    @Test func passiveOpenWithAllOptions() {
        var sc = TCPScenario()
        let lfd = sc.listen()
        sc.send(seq: Self.irs, [.syn], options: Self.allOptions)
        let synAck = sc.expectOne(seq: Self.iss, ack: Self.irs + 1, flags: [.syn, .ack], window: 65535)!
        // RFC 7323 §2.3: the shift that fits the 256 KiB buffer in 16 bits is 3.
        #expect(synAck.options.mss == 1460)
        #expect(synAck.options.windowScale == 3)
        #expect(synAck.options.sackPermitted)
        #expect(synAck.options.timestamps?.echoReply == 1000)
        let ourTS = synAck.options.timestamps!.value
        sc.send(
            seq: Self.irs + 1,
            ack: Self.iss + 1,
            [.ack],
            window: 1000,
            options: TCPOptions(timestamps: .init(value: 1001, echoReply: ourTS))
        )
        sc.expectNone()
        let fd = sc.accept(lfd).value!.fd
        let info = sc.info(fd)!
        // RFC 6691: the MSS less the 12 bytes of the timestamps option every segment carries.
        #expect(info.mss == 1448)
        #expect(info.windowScale?.send == 7 && info.windowScale?.receive == 3)
        #expect(info.sack && info.timestamps)
        // The window of a segment other than a SYN is scaled (RFC 7323 §2.2).
        #expect(info.sndWnd == 1000 << 7)
        // Data from the peer: the ACK's window is scaled by our shift, 3.
        sc.send(
            seq: Self.irs + 1,
            ack: Self.iss + 1,
            [.ack, .psh],
            window: 1000,
            options: TCPOptions(timestamps: .init(value: 1002, echoReply: ourTS)),
            payload: Build.pattern(100),
            at: .ms(10)
        )
        sc.advance(to: .ms(50))
        let ack = sc.expectOne(
            seq: Self.iss + 1,
            ack: Self.irs + 101,
            flags: [.ack],
            window: UInt16((262144 - 100) >> 3)
        )
        #expect(ack?.options.timestamps == .init(value: ourTS &+ 50, echoReply: 1002))
        #expect(ack?.time == .ms(50))
    }

    @Test func windowScaleAbove14IsUsedAs14() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: TCPOptions(mss: 1460, windowScale: 15))
        // RFC 7323 §2.3: "MUST use 14 instead of the specified value".
        #expect(sc.info(c.fd!)?.windowScale?.send == 14)
        #expect(sc.info(c.fd!)?.sndWnd == 65535 << 14)
    }

    @Test func mssZeroIsIgnored() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: TCPOptions(mss: 0))
        // RFC 9293 §3.7.1: an MSS of 0 cannot be used; the default 536 applies (as Linux).
        #expect(sc.info(c.fd!)?.mss == 536)
    }

    @Test func tinyMSSIsClamped() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: TCPOptions(mss: 10))
        // Linux clamps to TCP_MIN_MSS, 88.
        #expect(sc.info(c.fd!)?.mss == 88)
        sc.write(c.fd!, Build.pattern(200))
        let segments = sc.take()
        // Two full segments; the last 24 bytes wait for an ACK (Nagle).
        #expect(segments.map(\.payload.count) == [88, 88])
        #expect(segments.map(\.seq) == [Self.iss + 1, Self.iss + 89])
    }

    @Test func largeMSSIsBoundByOurMTU() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: TCPOptions(mss: 9000))
        #expect(sc.info(c.fd!)?.mss == 1460)
    }

    @Test func extensionsNeedBothSides() {
        // The stack does not offer them: the SYN,ACK carries only the MSS though the peer offered all.
        var off = TCPScenario { config in
            config.tcp.windowScaling = false
            config.tcp.timestamps = false
            config.tcp.sack = false
        }
        _ = off.listen()
        off.send(seq: Self.irs, [.syn], options: Self.allOptions)
        let synAck = off.expectOne(seq: Self.iss, ack: Self.irs + 1, flags: [.syn, .ack], window: 65535)
        #expect(synAck?.options == TCPOptions(mss: 1460))

        // The peer offers only SACK: only SACK is on.
        var sackOnly = TCPScenario()
        let lfd = sackOnly.listen()
        sackOnly.send(seq: Self.irs, [.syn], options: TCPOptions(mss: 1460, sackPermitted: true))
        let synAck2 = sackOnly.expectOne(flags: [.syn, .ack])
        #expect(synAck2?.options == TCPOptions(mss: 1460, sackPermitted: true))
        sackOnly.send(seq: Self.irs + 1, ack: Self.iss + 1, [.ack])
        let fd = sackOnly.accept(lfd).value!.fd
        let info = sackOnly.info(fd)!
        #expect(info.sack && !info.timestamps && info.windowScale == nil)

        // Active open: the stack offers everything, the peer's SYN,ACK nothing.
        var active = TCPScenario()
        let afd = active.connect()
        let syn = active.expectOne(seq: Self.iss, ack: 0, flags: [.syn], window: 65535)!
        #expect(syn.options.mss == 1460 && syn.options.windowScale == 3 && syn.options.sackPermitted)
        #expect(syn.options.timestamps?.echoReply == 0)
        active.send(seq: Self.irs, ack: Self.iss + 1, [.syn, .ack], from: 40000, to: 50000)
        let ack = active.expectOne(seq: Self.iss + 1, ack: Self.irs + 1, flags: [.ack], window: 65535)
        #expect(ack?.options.isEmpty == true)
        let ainfo = active.info(afd)!
        #expect(ainfo.state == .established && !ainfo.sack && !ainfo.timestamps && ainfo.windowScale == nil)
        #expect(ainfo.mss == 536)
    }

    @Test func activeOpenWithAllOptions() {
        var sc = TCPScenario()
        let fd = sc.connect()
        let syn = sc.expectOne(seq: Self.iss, flags: [.syn], window: 65535)!
        let ourTS = syn.options.timestamps!.value
        sc.send(
            seq: Self.irs,
            ack: Self.iss + 1,
            [.syn, .ack],
            window: 5000,
            options: TCPOptions(
                mss: 1400,
                windowScale: 2,
                sackPermitted: true,
                timestamps: .init(value: 77, echoReply: ourTS)
            ),
            from: 40000,
            to: 50000,
            at: .ms(3)
        )
        let ack = sc.expectOne(seq: Self.iss + 1, ack: Self.irs + 1, flags: [.ack], window: UInt16(262144 >> 3))
        #expect(ack?.options.timestamps == .init(value: ourTS &+ 3, echoReply: 77))
        let info = sc.info(fd)!
        #expect(info.state == .established)
        #expect(info.mss == 1388)
        // The window of the SYN,ACK is never scaled (RFC 7323 §2.2).
        #expect(info.sndWnd == 5000)
        #expect(info.windowScale?.send == 2 && info.windowScale?.receive == 3)
        // A timestamp echo gave an RTT sample of 3 ms (RFC 7323 §4.1).
        #expect(info.srttMicroseconds != nil)
        #expect(sc.stack.connect(fd, address: TCPScenario.peerIP, port: 40000, into: &sc.effects).error == .EISCONN)
    }

    /// RFC 9293 §3.5 figure 8.
    @Test func simultaneousOpen() {
        var sc = TCPScenario()
        let fd = sc.connect()
        sc.expectOne(seq: Self.iss, ack: 0, flags: [.syn])
        // The peer's SYN crosses ours: SYN-SENT → SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
        sc.send(seq: Self.irs, [.syn], from: 40000, to: 50000)
        sc.expectOne(seq: Self.iss, ack: Self.irs + 1, flags: [.syn, .ack], window: 65535)
        #expect(sc.state(fd) == .synReceived)
        #expect(sc.stack.connect(fd, address: TCPScenario.peerIP, port: 40000, into: &sc.effects).error == .EALREADY)
        // The peer's SYN,ACK: ESTABLISHED, and nothing more to say (figure 8 line 7).
        sc.send(seq: Self.irs, ack: Self.iss + 1, [.syn, .ack], from: 40000, to: 50000)
        sc.expectNone()
        #expect(sc.state(fd) == .established)
        // Data flows.
        sc.send(seq: Self.irs + 1, ack: Self.iss + 1, [.ack, .psh], payload: [1, 2, 3], from: 40000, to: 50000)
        #expect(sc.read(fd).value?.bytes == [1, 2, 3])
        sc.write(fd, [9])
        sc.expectOne(seq: Self.iss + 1, ack: Self.irs + 4, flags: [.ack, .psh], length: 1)
    }

    /// A RST in SYN-RECEIVED after a simultaneous open (an active OPEN): "the connection was
    /// refused" (RFC 9293 §3.10.7.4 second).
    @Test func resetInSynReceivedAfterSimultaneousOpenRefuses() {
        var sc = TCPScenario()
        let fd = sc.connect()
        sc.expectOne(flags: [.syn])
        sc.send(seq: Self.irs, [.syn], from: 40000, to: 50000)
        sc.expectOne(seq: Self.iss, ack: Self.irs + 1, flags: [.syn, .ack])
        sc.send(seq: Self.irs + 1, [.rst], from: 40000, to: 50000)
        sc.expectNone()
        #expect(sc.state(fd) == .closed)
        #expect(
            sc.stack.connect(fd, address: TCPScenario.peerIP, port: 40000, into: &sc.effects).error == .ECONNREFUSED
        )
    }

    /// LISTEN answers any ACK, a SYN,ACK included, with <SEQ=SEG.ACK><CTL=RST>.
    @Test func synAckToAListenerIsReset() {
        var sc = TCPScenario()
        _ = sc.listen()
        sc.send(seq: Self.irs, ack: 777, [.syn, .ack])
        sc.expectOne(seq: 777, ack: 0, flags: [.rst], window: 0)
    }

    /// A retransmitted SYN in SYN-RECEIVED: the SYN,ACK was lost; send it again.
    @Test func duplicateSYNInSynReceived() {
        var sc = TCPScenario()
        let lfd = sc.listen()
        sc.send(seq: Self.irs, [.syn])
        sc.expectOne(seq: Self.iss, ack: Self.irs + 1, flags: [.syn, .ack], window: 65535)
        sc.send(seq: Self.irs, [.syn], at: .ms(500))
        sc.expectOne(seq: Self.iss, ack: Self.irs + 1, flags: [.syn, .ack], window: 65535)
        sc.send(seq: Self.irs + 1, ack: Self.iss + 1, [.ack])
        sc.expectNone()
        #expect(sc.accept(lfd).value != nil)
        #expect(sc.accept(lfd).error == .EAGAIN)
    }

    /// RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: "If the segment acknowledgment is not
    /// acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST> and send it."
    @Test func badACKInSynReceived() {
        var sc = TCPScenario()
        let lfd = sc.listen()
        sc.send(seq: Self.irs, [.syn])
        sc.expectOne(flags: [.syn, .ack])
        sc.send(seq: Self.irs + 1, ack: Self.iss + 5, [.ack])
        sc.expectOne(seq: Self.iss + 5, ack: 0, flags: [.rst], window: 0)
        sc.send(seq: Self.irs + 1, ack: Self.iss, [.ack])
        sc.expectOne(seq: Self.iss, ack: 0, flags: [.rst], window: 0)
        #expect(sc.accept(lfd).error == .EAGAIN)
        // The embryo survives: the right ACK completes it.
        sc.send(seq: Self.irs + 1, ack: Self.iss + 1, [.ack])
        sc.expectNone()
        #expect(sc.accept(lfd).value != nil)
    }

    /// RFC 9293 §3.10.7.4 second, SYN-RECEIVED: "If this connection was initiated with a
    /// passive OPEN (i.e., came from the LISTEN state), then return this connection to LISTEN
    /// state and return."
    @Test func resetInSynReceivedReturnsToListen() {
        var sc = TCPScenario()
        let lfd = sc.listen()
        sc.send(seq: Self.irs, [.syn])
        sc.expectOne(flags: [.syn, .ack])
        sc.send(seq: Self.irs + 1, [.rst])
        sc.expectNone()
        // The embryo is gone: no SYN,ACK retransmission, nothing to accept.
        sc.advance(seconds: 10)
        sc.expectNone()
        #expect(sc.accept(lfd).error == .EAGAIN)
        // The listener still takes a new SYN on the same 4-tuple.
        sc.send(seq: 9000, [.syn])
        sc.expectOne(seq: Self.iss, ack: 9001, flags: [.syn, .ack], window: 65535)
        sc.send(seq: 9001, ack: Self.iss + 1, [.ack])
        sc.expectNone()
        let fd = sc.accept(lfd).value!.fd
        #expect(sc.state(fd) == .established)
        #expect(sc.info(lfd)?.acceptQueue == 0)
    }

    /// A SYN,ACK retransmitted by its timer: 1 s, then doubling (RFC 6298 (5.5)).
    @Test func synAckRetransmission() {
        var sc = TCPScenario()
        _ = sc.listen()
        sc.send(seq: Self.irs, [.syn])
        sc.expectOne(flags: [.syn, .ack], at: .zero)
        sc.advance(seconds: 8)
        let segments = sc.take()
        for s in segments {
            TCPScenario.check(
                s,
                seq: Self.iss,
                ack: Self.irs + 1,
                flags: [.syn, .ack],
                window: 65535,
                length: 0,
                "",
                #_sourceLocation
            )
        }
        #expect(segments.map { $0.time.nanoseconds / 1_000_000 } == [1000, 3000, 7000])
    }

    // MARK: SYN-SENT (RFC 9293 §3.10.7.3)

    @Test func synSentUnacceptableACKGetsReset() {
        var sc = TCPScenario()
        let fd = sc.connect()
        sc.expectOne(seq: Self.iss, flags: [.syn])
        // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset <SEQ=SEG.ACK><CTL=RST>".
        sc.send(seq: Self.irs, ack: Self.iss, [.ack], from: 40000, to: 50000)
        sc.expectOne(seq: Self.iss, ack: 0, flags: [.rst], window: 0)
        sc.send(seq: Self.irs, ack: Self.iss + 2, [.syn, .ack], from: 40000, to: 50000)
        sc.expectOne(seq: Self.iss + 2, ack: 0, flags: [.rst], window: 0)
        // "(unless the RST bit is set, if so drop the segment and return)".
        sc.send(seq: Self.irs, ack: Self.iss + 2, [.rst, .ack], from: 40000, to: 50000)
        sc.expectNone()
        #expect(sc.state(fd) == .synSent)
        // The handshake still completes.
        sc.send(seq: Self.irs, ack: Self.iss + 1, [.syn, .ack], from: 40000, to: 50000)
        sc.expectOne(seq: Self.iss + 1, ack: Self.irs + 1, flags: [.ack])
        #expect(sc.state(fd) == .established)
    }

    @Test func synSentResetWithoutACKIsIgnored() {
        var sc = TCPScenario()
        let fd = sc.connect()
        sc.expectOne(flags: [.syn])
        sc.send(seq: 0, [.rst], from: 40000, to: 50000)
        sc.send(seq: Self.irs, [.rst], from: 40000, to: 50000)
        sc.expectNone()
        #expect(sc.state(fd) == .synSent)
    }

    @Test func synSentResetWithACKRefuses() {
        var sc = TCPScenario()
        let fd = sc.connect()
        sc.expectOne(flags: [.syn])
        sc.send(seq: 0, ack: Self.iss + 1, [.rst, .ack], from: 40000, to: 50000)
        sc.expectNone()
        #expect(sc.state(fd) == .closed)
        #expect(sc.stack.readiness(fd)?.contains(.error) == true)
        #expect(sc.events.contains { $0.descriptor == fd })
        #expect(
            sc.stack.connect(fd, address: TCPScenario.peerIP, port: 40000, into: &sc.effects).error == .ECONNREFUSED
        )
        // No retransmission of the SYN afterwards.
        sc.advance(seconds: 5)
        sc.expectNone()
    }

    /// An unanswered SYN: retransmitted with backoff, then connect fails with ETIMEDOUT.
    @Test func synRetransmissionThenTimeout() {
        var sc = TCPScenario()
        let fd = sc.connect()
        sc.expectOne(seq: Self.iss, flags: [.syn], at: .zero)
        sc.advance(seconds: 200)
        let segments = sc.take()
        // tcp_syn_retries = 6: retransmissions after 1, 3, 7, 15, 31, 63 s; connect fails at 127 s.
        #expect(segments.map { $0.time.nanoseconds / 1_000_000_000 } == [1, 3, 7, 15, 31, 63])
        #expect(segments.allSatisfy { $0.flags == [.syn] && $0.seq == Self.iss && $0.options.mss == 1460 })
        #expect(sc.state(fd) == .closed)
        #expect(sc.stack.connect(fd, address: TCPScenario.peerIP, port: 40000, into: &sc.effects).error == .ETIMEDOUT)
    }

    /// A SYN to a listener whose accept queue is full is dropped (the peer retries), as Linux:
    /// `listen(fd, 1)` queues two completed connections (`sk_acceptq_is_full` is `>`).
    @Test func fullAcceptQueueDropsSYN() {
        var sc = TCPScenario()
        let lfd = sc.listen(backlog: 1)
        _ = sc.passiveOpen(peerPort: 40000, listener: lfd)
        // passiveOpen accepted it; fill the queue with two unaccepted connections.
        for port: UInt16 in [40001, 40002] {
            sc.send(seq: Self.irs, [.syn], from: port)
            sc.expectOne(flags: [.syn, .ack])
            sc.send(seq: Self.irs + 1, ack: Self.iss + 1, [.ack], from: port)
            sc.expectNone()
        }
        sc.send(seq: Self.irs, [.syn], from: 40003)
        sc.expectNone()
        #expect(sc.stack.counters[.tcpListenOverflow] == 1)
    }
}
