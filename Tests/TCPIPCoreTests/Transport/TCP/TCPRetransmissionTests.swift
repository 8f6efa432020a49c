import Testing

@testable import TCPIPCore

/// Retransmission: the RTO of RFC 6298 (initial 1 s, doubling, capped, giving up after the
/// configured retries, RFC 1122 §4.2.3.5) and fast retransmit / NewReno (RFC 5681 §3.2, RFC 6582).
@Suite struct TCPRetransmissionTests {
    static let mss1000 = TCPOptions(mss: 1000)

    @Test func rtoBacksOffThenTimesOut() {
        var sc = TCPScenario { config in
            config.tcp.retries = 6
            config.tcp.maxRTO = 10_000_000_000
        }
        let c = sc.passiveOpen()
        let fd = c.fd!
        sc.write(fd, Build.pattern(100))
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack, .psh], length: 100, at: .zero)
        sc.advance(seconds: 100)
        let segments = sc.take()
        // RFC 6298 (2.1) 1 s, (5.5) doubling, (2.5) capped (here at 10 s): 1, 3, 7, 15, 25, 35.
        #expect(segments.map { $0.time.nanoseconds / 1_000_000_000 } == [1, 3, 7, 15, 25, 35])
        #expect(segments.allSatisfy { $0.seq == c.ack && $0.payload.count == 100 && $0.flags == [.ack, .psh] })
        // After the sixth retransmission's timeout (45 s) the connection is gone, without a RST
        // (RFC 9293 §3.10.8 / RFC 1122 §4.2.3.5 close it; Linux's tcp_write_err sends nothing).
        #expect(sc.state(fd) == .closed)
        #expect(sc.stack.readiness(fd)?.contains(.error) == true)
        #expect(sc.write(fd, [1]).error == .ETIMEDOUT)
        #expect(sc.read(fd).value?.eof == true)
    }

    @Test func timeoutIsReportedToAReader() {
        var sc = TCPScenario { $0.tcp.retries = 2 }
        let c = sc.passiveOpen()
        sc.write(c.fd!, Build.pattern(10))
        sc.advance(seconds: 60)
        #expect(sc.take().map { $0.time.nanoseconds / 1_000_000_000 } == [0, 1, 3])
        #expect(sc.read(c.fd!).error == .ETIMEDOUT)
    }

    /// An ACK ends the backoff: the next RTO comes from the new measurement (RFC 6298 (5.7)
    /// context and Karn's algorithm: the retransmitted segment gave no sample).
    @Test func retransmissionThenACKResumes() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: Self.mss1000)
        sc.write(c.fd!, Build.pattern(1000))
        sc.expectOne(seq: c.ack, length: 1000, at: .zero)
        sc.advance(to: .ms(1500))
        sc.expectOne(seq: c.ack, length: 1000, at: .seconds(1))
        sc.send(c, ack: c.ack + 1000, at: .ms(1500))
        sc.expectNone()
        sc.write(c.fd!, Build.pattern(1000))
        sc.expectOne(seq: c.ack + 1000, length: 1000, at: .ms(1500))
        // No sample came from the retransmitted segment: RTO is still the backed-off 2 s,
        // cleared only by a measurement. Linux keeps it too until an RTT sample.
        sc.advance(to: .seconds(10))
        let times = sc.take().map { $0.time.nanoseconds / 1_000_000 }
        #expect(times.first == 3500)
    }

    /// RFC 6298 (5.7): after the SYN timed out, RTO starts at 3 s once data flows.
    @Test func rtoIsThreeSecondsAfterASYNTimeout() {
        var sc = TCPScenario()
        let fd = sc.connect()
        sc.expectOne(flags: [.syn], at: .zero)
        sc.advance(to: .ms(1500))
        sc.expectOne(flags: [.syn], at: .seconds(1))
        sc.send(seq: 5000, ack: TCPScenario.defaultISS + 1, [.syn, .ack], from: 40000, to: 50000)
        sc.expectOne(seq: TCPScenario.defaultISS + 1, ack: 5001, flags: [.ack])
        sc.write(fd, Build.pattern(10))
        sc.expectOne(seq: TCPScenario.defaultISS + 1, length: 10, at: .ms(1500))
        sc.advance(to: .seconds(6))
        sc.expectOne(seq: TCPScenario.defaultISS + 1, length: 10, at: .ms(4500))
    }

    /// The same for a passive open whose SYN,ACK timed out.
    @Test func rtoIsThreeSecondsAfterASYNACKTimeout() {
        var sc = TCPScenario()
        let lfd = sc.listen()
        sc.send(seq: 5000, [.syn])
        sc.expectOne(flags: [.syn, .ack], at: .zero)
        sc.advance(to: .ms(1500))
        sc.expectOne(flags: [.syn, .ack], at: .seconds(1))
        sc.send(seq: 5001, ack: TCPScenario.defaultISS + 1, [.ack])
        let fd = sc.accept(lfd).value!.fd
        sc.write(fd, Build.pattern(10))
        sc.expectOne(seq: TCPScenario.defaultISS + 1, length: 10, at: .ms(1500))
        sc.advance(to: .seconds(6))
        sc.expectOne(seq: TCPScenario.defaultISS + 1, length: 10, at: .ms(4500))
    }

    /// Three duplicate ACKs retransmit the first unacknowledged segment at once (RFC 5681
    /// §3.2), with ssthresh = max(FlightSize/2, 2·SMSS); the full ACK ends recovery (RFC 6582).
    /// Run at an ISS on each side of 2^31 (RFC 6582's `recover` starts at the ISS).
    @Test(arguments: [TCPScenario.defaultISS, 0x7FFF_F000, 0x8000_0000, 0xFFFF_FFF0])
    func fastRetransmit(iss: UInt32) {
        var sc = TCPScenario(iss: iss)
        let c = sc.passiveOpen(options: Self.mss1000)
        let fd = c.fd!
        #expect(sc.write(fd, Build.pattern(5000)).value == 5000)
        #expect(sc.take().map(\.seq) == (0..<5).map { c.ack &+ UInt32($0 * 1000) })
        // The first segment arrives, the second is lost; three more arrive.
        sc.send(c, ack: c.ack &+ 1000, at: .ms(10))
        sc.expectNone()
        sc.send(c, ack: c.ack &+ 1000, at: .ms(11))
        sc.send(c, ack: c.ack &+ 1000, at: .ms(12))
        sc.expectNone("two duplicates are not enough")
        sc.send(c, ack: c.ack &+ 1000, at: .ms(13))
        sc.expectOne(seq: c.ack &+ 1000, ack: c.seq, flags: [.ack], length: 1000, at: .ms(13))
        let info = sc.info(fd)!
        #expect(info.ssthresh == 2000)
        #expect(info.cwnd == 5000)
        // More duplicates inflate the window but there is nothing new to send.
        sc.send(c, ack: c.ack &+ 1000, at: .ms(14))
        sc.expectNone()
        // The retransmission fills the hole: everything is acknowledged.
        sc.send(c, ack: c.ack &+ 5000, at: .ms(20))
        sc.expectNone()
        #expect(sc.info(fd)?.cwnd == 2000)
        #expect(sc.info(fd)?.sendQueue == 0)
        // No retransmission timer is left running.
        sc.advance(seconds: 5)
        sc.expectNone()
    }

    /// RFC 6582 §3.2 (4): a partial ACK retransmits the next hole at once.
    @Test func partialACKRetransmitsTheNextHole() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: Self.mss1000)
        sc.write(c.fd!, Build.pattern(6000))
        #expect(sc.take().count == 6)
        // Segments 2 and 4 lost.
        for t: Int64 in 1...4 { sc.send(c, ack: c.ack + 1000, at: .ms(t)) }
        sc.expectOne(seq: c.ack + 1000, length: 1000, at: .ms(4))
        sc.send(c, ack: c.ack + 3000, at: .ms(10))
        sc.expectOne(seq: c.ack + 3000, length: 1000, at: .ms(10))
        sc.send(c, ack: c.ack + 6000, at: .ms(20))
        sc.expectNone()
        #expect(sc.info(c.fd!)?.sendQueue == 0)
    }

    /// After a retransmission timeout, duplicate ACKs for data sent before it do not start a
    /// fast retransmit (RFC 6582 §3.2 (6): `recover` is set to the highest sequence sent).
    @Test func noFastRetransmitAfterTimeoutForOldData() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: Self.mss1000)
        sc.write(c.fd!, Build.pattern(4000))
        #expect(sc.take().count == 4)
        sc.advance(to: .ms(1000))
        sc.expectOne(seq: c.ack, length: 1000, at: .seconds(1))
        // The first segment's retransmission arrives; the peer had lost only the first.
        sc.send(c, ack: c.ack + 1000, at: .ms(1001))
        // cwnd was 1 segment; the ACK of 1000 bytes makes it 2: two go again (go-back-N).
        #expect(sc.take().map(\.seq) == [c.ack + 1000, c.ack + 2000])
        for t: Int64 in 2...5 { sc.send(c, ack: c.ack + 1000, at: .ms(1000 + t)) }
        sc.expectNone("duplicates below recover do not trigger fast retransmit")
    }
}
