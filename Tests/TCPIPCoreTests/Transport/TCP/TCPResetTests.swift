import Testing

@testable import TCPIPCore

/// Resets: RFC 9293 §3.10.7.1 (CLOSED), §3.10.7.2 (LISTEN), §3.10.7.4 "second check the RST
/// bit" and "fourth, check the SYN bit" with RFC 5961's challenge ACKs.
@Suite struct TCPResetTests {
    // MARK: RFC 5961 §3.2: RST

    @Test func resetExactlyAtRcvNxtResets() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.send(c, seq: c.seq, [.rst])
        sc.expectNone()
        #expect(sc.state(c.fd!) == .closed)
        #expect(sc.stack.readiness(c.fd!)?.contains(.error) == true)
        // The first call reports the reset, later ones see the end.
        #expect(sc.read(c.fd!).error == .ECONNRESET)
        #expect(sc.read(c.fd!).value?.eof == true)
        #expect(sc.write(c.fd!, [1]).error == .EPIPE)
        // Nothing is sent for it, now or later.
        sc.advance(seconds: 10)
        sc.expectNone()
    }

    @Test func resetWithACKAtRcvNxtResets() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.send(c, [.rst, .ack])
        sc.expectNone()
        #expect(sc.write(c.fd!, [1]).error == .ECONNRESET)
    }

    @Test func inWindowResetGetsChallengeACK() {
        // Every answer here, none held back by the per-connection limit (tested below).
        var sc = TCPScenario { $0.tcp.outOfWindowAckInterval = 0 }
        let c = sc.passiveOpen()
        for offset: UInt32 in [1, 1000, 65534] {
            sc.send(c, seq: c.seq + offset, [.rst])
            // RFC 5961 §3.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
            sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack], window: 65535, length: 0)
        }
        #expect(sc.state(c.fd!) == .established)
        #expect(sc.write(c.fd!, [1]).value == 1)
    }

    @Test func outOfWindowResetIsDropped() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.send(c, seq: c.seq + 65535, [.rst])
        sc.send(c, seq: c.seq - 1, [.rst])
        sc.send(c, seq: c.seq &+ 0x8000_0000, [.rst, .ack])
        sc.expectNone()
        #expect(sc.state(c.fd!) == .established)
    }

    @Test func synInEstablishedGetsChallengeACK() {
        // Every answer here, none held back by the per-connection limit (tested below).
        var sc = TCPScenario { $0.tcp.outOfWindowAckInterval = 0 }
        let c = sc.passiveOpen()
        // RFC 5961 §4.2: a SYN in a synchronized state, whatever its sequence number, gets
        // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and is dropped.
        for seq in [c.seq, c.seq + 100, c.seq - 1000, c.seq + 1_000_000] {
            sc.send(c, seq: seq, [.syn])
            sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack], window: 65535, length: 0, "SYN at \(seq)")
        }
        sc.send(c, seq: c.seq, [.syn, .ack], payload: [1, 2, 3])
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack], window: 65535)
        #expect(sc.state(c.fd!) == .established)
        #expect(sc.read(c.fd!).error == .EAGAIN)
    }

    @Test func challengeACKsAreRateLimited() {
        var sc = TCPScenario {
            $0.tcp.challengeAcksPerSecond = 2
            $0.tcp.outOfWindowAckInterval = 0
        }
        let c = sc.passiveOpen()
        for _ in 0..<3 { sc.send(c, seq: c.seq + 10, [.rst]) }
        #expect(sc.take().count == 2)
        sc.send(c, seq: c.seq + 10, [.syn], at: .ms(400))
        sc.expectNone("bucket still empty")
        sc.send(c, seq: c.seq + 10, [.rst], at: .ms(1000))
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack])
        #expect(sc.state(c.fd!) == .established)
        #expect(sc.stack.counters[.tcpChallengeAckLimited] == 2)
    }

    /// RFC 5961 §7 and Linux's tcp_oow_rate_limited: one challenge ACK (or ACK to an
    /// unacceptable segment) per 500 ms per connection, whatever the global budget.
    @Test func challengeACKsAreLimitedPerConnection() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        for t: Int64 in [0, 100, 499] { sc.send(c, seq: c.seq + 10, [.rst], at: .ms(1000 + t)) }
        #expect(sc.take().count == 1)
        sc.send(c, seq: c.seq + 100_000, payload: [1], at: .ms(1300))
        sc.expectNone("an unacceptable segment within the same 500 ms")
        sc.send(c, seq: c.seq + 10, [.syn], at: .ms(1500))
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack])
        #expect(sc.state(c.fd!) == .established)
    }

    // MARK: CLOSED (RFC 9293 §3.10.7.1)

    @Test func closedPortAnswersWithReset() {
        var sc = TCPScenario()
        // No ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; SYN and FIN count in SEG.LEN.
        sc.send(seq: 7000, [.syn], to: 81)
        let r1 = sc.expectOne(seq: 0, ack: 7001, flags: [.rst, .ack], window: 0, length: 0)
        #expect(r1?.sourcePort == 81 && r1?.destinationPort == 40000)
        #expect(r1?.options.isEmpty == true)
        sc.send(seq: 7000, [.syn], payload: Build.pattern(10), to: 81)
        sc.expectOne(seq: 0, ack: 7011, flags: [.rst, .ack], window: 0)
        sc.send(seq: 7000, [.fin], payload: Build.pattern(5), to: 81)
        sc.expectOne(seq: 0, ack: 7006, flags: [.rst, .ack], window: 0)
        sc.send(seq: 0xFFFF_FFFF, [.syn], to: 81)
        sc.expectOne(seq: 0, ack: 0, flags: [.rst, .ack], window: 0)
        // ACK set: <SEQ=SEG.ACK><CTL=RST>.
        sc.send(seq: 7000, ack: 12345, [.ack], to: 81)
        sc.expectOne(seq: 12345, ack: 0, flags: [.rst], window: 0)
        sc.send(seq: 7000, ack: 999, [.ack, .psh], payload: Build.pattern(100), to: 81)
        sc.expectOne(seq: 999, ack: 0, flags: [.rst], window: 0)
        sc.send(seq: 7000, ack: 54321, [.syn, .ack], to: 81)
        sc.expectOne(seq: 54321, ack: 0, flags: [.rst], window: 0)
        // Never a RST for a RST.
        sc.send(seq: 7000, [.rst], to: 81)
        sc.send(seq: 7000, ack: 5, [.rst, .ack], to: 81)
        sc.expectNone()
    }

    @Test func listenerAnswersACKWithResetAndIgnoresReset() {
        var sc = TCPScenario()
        let lfd = sc.listen()
        // RFC 9293 §3.10.7.2: "Any acknowledgment is bad if it arrives on a connection still in
        // the LISTEN state. An acceptable reset segment should be formed ... <SEQ=SEG.ACK><CTL=RST>".
        sc.send(seq: 7000, ack: 4242, [.ack])
        sc.expectOne(seq: 4242, ack: 0, flags: [.rst], window: 0)
        sc.send(seq: 7000, ack: 4242, [.fin, .ack])
        sc.expectOne(seq: 4242, ack: 0, flags: [.rst], window: 0)
        // "An incoming RST should be ignored"; a segment with neither SYN nor ACK is dropped.
        sc.send(seq: 7000, [.rst])
        sc.send(seq: 7000, [.psh], payload: [1])
        sc.send(seq: 7000, [.fin])
        sc.expectNone()
        #expect(sc.accept(lfd).error == .EAGAIN)
        #expect(sc.info(lfd)?.state == .listen)
    }

    @Test func segmentsToAClosedConnectionGetResets() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.send(c, [.rst])
        sc.expectNone()
        // The connection is gone; the next segment meets the CLOSED state... or the listener,
        // which answers an ACK with <SEQ=SEG.ACK><CTL=RST>.
        sc.send(c, [.ack, .psh], payload: [1, 2])
        sc.expectOne(seq: c.ack, ack: 0, flags: [.rst], window: 0)
    }
}
