import Testing

@testable import TCPIPCore

/// Timestamps (RFC 7323 §3–§5): TSecr echoes TS.Recent, which follows the segment covering
/// Last.ACK.sent; PAWS drops old duplicates.
@Suite struct TCPTimestampTests {
    static func ts(_ value: UInt32, _ echo: UInt32) -> TCPOptions {
        TCPOptions(timestamps: .init(value: value, echoReply: echo))
    }

    /// Opens with timestamps; returns the connection and our TSval at time 0.
    static func open(_ sc: inout TCPScenario) -> (PeerConnection, UInt32) {
        let lfd = sc.listen()
        sc.send(
            seq: TCPScenario.peerISN,
            [.syn],
            options: TCPOptions(mss: 1460, timestamps: .init(value: 1000, echoReply: 0))
        )
        let synAck = sc.expectOne(flags: [.syn, .ack])!
        #expect(synAck.options.timestamps?.echoReply == 1000)
        let ours = synAck.options.timestamps!.value
        var c = PeerConnection(
            fd: nil,
            peerPort: 40000,
            localPort: 80,
            iss: synAck.seq,
            irs: TCPScenario.peerISN,
            seq: TCPScenario.peerISN + 1,
            ack: synAck.seq + 1
        )
        sc.send(c, options: ts(1001, ours))
        c.fd = sc.accept(lfd).value?.fd
        return (c, ours)
    }

    @Test func pawsDropsAnOldDuplicateAndACKsIt() {
        var sc = TCPScenario()
        let (c, ours) = Self.open(&sc)
        let fd = c.fd!
        sc.send(c, options: Self.ts(1002, ours), payload: Build.pattern(10), at: .ms(10))
        sc.advance(to: .ms(100))
        var ack = sc.expectOne(seq: c.ack, ack: c.seq + 10, flags: [.ack], at: .ms(50))
        #expect(ack?.options.timestamps == .init(value: ours &+ 50, echoReply: 1002))
        // TSval 900 < TS.Recent 1002: RFC 7323 §5.3 R1, "Send an acknowledgment in reply ...
        // and drop the segment", even though its sequence numbers are new.
        sc.send(c, seq: c.seq + 10, options: Self.ts(900, ours), payload: Build.pattern(10, seed: 9), at: .ms(200))
        ack = sc.expectOne(seq: c.ack, ack: c.seq + 10, flags: [.ack], length: 0, at: .ms(200))
        #expect(ack?.options.timestamps == .init(value: ours &+ 200, echoReply: 1002))
        #expect(sc.read(fd).value?.bytes == Build.pattern(10))
        #expect(sc.read(fd).error == .EAGAIN)
        // A RST with an old timestamp is not subject to PAWS (RFC 7323 §5.3 R1: "and the RST
        // bit is not set"): at RCV.NXT it resets.
        sc.send(c, seq: c.seq + 10, [.rst], options: Self.ts(900, ours), at: .ms(300))
        sc.expectNone()
        #expect(sc.state(fd) == .closed)
    }

    @Test func tsRecentFollowsInOrderSegmentsOnly() {
        var sc = TCPScenario()
        let (c, ours) = Self.open(&sc)
        let fd = c.fd!
        // An out-of-order segment with a newer TSval does not update TS.Recent (RFC 7323 §4.3
        // (2): only a segment with SEG.SEQ =< Last.ACK.sent does).
        sc.send(c, seq: c.seq + 100, options: Self.ts(5000, ours), payload: Build.pattern(10), at: .ms(1))
        var ack = sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack], at: .ms(1))
        #expect(ack?.options.timestamps?.echoReply == 1001)
        sc.send(c, seq: c.seq, options: Self.ts(1003, ours), payload: Build.pattern(100), at: .ms(2))
        ack = sc.expectOne(seq: c.ack, ack: c.seq + 110, flags: [.ack], at: .ms(2))
        #expect(ack?.options.timestamps?.echoReply == 1003)
        #expect(sc.read(fd).value?.bytes.count == 110)
    }

    @Test func dataSegmentsCarryTimestampsAndTheyTimeTheRTT() {
        var sc = TCPScenario()
        let (c, ours) = Self.open(&sc)
        let fd = c.fd!
        sc.write(fd, Build.pattern(100))
        let data = sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack, .psh], length: 100, at: .zero)
        #expect(data?.options.timestamps == .init(value: ours, echoReply: 1001))
        sc.send(c, ack: c.ack + 100, options: Self.ts(1050, ours), at: .ms(30))
        let info = sc.info(fd)!
        // RFC 7323 §4.1: RTT = now − TSecr (+0.5 ms for the clock's granularity). The
        // handshake's ACK gave the first sample, 0.5 ms; this one is 30.5 ms: RFC 6298 (2.3)
        // SRTT = 7/8 · 0.5 + 1/8 · 30.5 = 4.25 ms.
        #expect(info.srttMicroseconds == 4250)
    }
}
