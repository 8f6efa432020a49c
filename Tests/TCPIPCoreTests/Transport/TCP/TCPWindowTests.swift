import Testing

@testable import TCPIPCore

/// Flow control: the receive window we offer (RFC 9293 §3.8.6.2.2 receiver SWS avoidance), the
/// send window we obey (§3.8.6.2.1), zero-window probing (§3.8.6.1, RFC 1122 §4.2.2.17).
@Suite struct TCPWindowTests {
    static let mss1000 = TCPOptions(mss: 1000)

    @Test func receiverZeroWindowThenWindowUpdate() {
        var sc = TCPScenario { $0.tcp.receiveBuffer = 4096 }
        let lfd = sc.listen()
        sc.send(seq: TCPScenario.peerISN, [.syn], options: TCPOptions(mss: 1460))
        sc.expectOne(flags: [.syn, .ack], window: 4096)
        var c = PeerConnection(
            fd: nil,
            peerPort: 40000,
            localPort: 80,
            iss: TCPScenario.defaultISS,
            irs: TCPScenario.peerISN,
            seq: TCPScenario.peerISN + 1,
            ack: TCPScenario.defaultISS + 1
        )
        sc.send(c)
        c.fd = sc.accept(lfd).value!.fd
        let fd = c.fd!
        sc.send(c, payload: Build.pattern(1460), at: .ms(1))
        sc.send(c, seq: c.seq + 1460, payload: Build.pattern(1460), at: .ms(2))
        sc.expectOne(seq: c.ack, ack: c.seq + 2920, flags: [.ack], window: 1176, at: .ms(2))
        sc.send(c, seq: c.seq + 2920, payload: Build.pattern(1176), at: .ms(3))
        sc.advance(to: .ms(100))
        sc.expectOne(seq: c.ack, ack: c.seq + 4096, flags: [.ack], window: 0, at: .ms(43))
        // The peer's zero-window probes: Linux's <SEQ=RCV.NXT−1> and a one-byte probe at RCV.NXT;
        // both are answered with the current (zero) window, and the byte is not taken (RFC 9293
        // §3.10.7.4: with RCV.WND zero no data is acceptable, "an acknowledgment should be sent").
        sc.send(c, seq: c.seq + 4095, at: .ms(300))
        sc.expectOne(seq: c.ack, ack: c.seq + 4096, flags: [.ack], window: 0, at: .ms(300))
        sc.send(c, seq: c.seq + 4096, payload: [0xEE], at: .ms(600))
        sc.expectOne(seq: c.ack, ack: c.seq + 4096, flags: [.ack], window: 0, at: .ms(600))
        // Reading 1000 bytes opens less than min(buffer/2, MSS): no update (receiver SWS avoidance).
        #expect(sc.read(fd, max: 1000).value?.bytes.count == 1000)
        sc.expectNone()
        // Reading the rest opens the window: an update <SEQ=SND.NXT><ACK=RCV.NXT><WND=4096>.
        #expect(sc.read(fd).value?.bytes.count == 3096)
        sc.expectOne(seq: c.ack, ack: c.seq + 4096, flags: [.ack], window: 4096, at: .ms(600))
        // The byte of the probe was not taken: it comes again and is.
        sc.send(c, seq: c.seq + 4096, payload: [0xEE], at: .ms(700))
        #expect(sc.read(fd).value?.bytes == [0xEE])
    }

    /// Issue 7, defect 3: acceptability is judged against the window the peer was told
    /// (RFC 9293 §3.10.7.4, after window-scale rounding), never a larger one. With a shift of 1,
    /// the unscaled SYN window (65535, odd) minus an even amount received cannot be told
    /// exactly: the stack rounds the field up (RFC 7323 §2.4, as Linux's tcp_select_window),
    /// so the edge does not move left, and then takes exactly up to the edge it told.
    @Test func aSegmentStraddlingTheToldEdgeIsTrimmedThere() throws {
        var sc = TCPScenario { $0.tcp.receiveBuffer = 66000 }
        var c = sc.passiveOpen(options: TCPOptions(mss: 1460, windowScale: 0))
        sc.send(c, payload: Build.pattern(1000), at: .ms(1))
        sc.advance(to: .ms(100))
        let ack = try #require(sc.take().last)
        #expect(ack.ack == c.seq &+ 1000)
        let told = Int(ack.window) << 1
        #expect(told >= 65535 - 1000, "the right edge offered in the SYN,ACK never moves left")
        c.seq = c.seq &+ 1000
        // One segment that runs 100 bytes past the edge told: exactly `told` bytes are taken.
        sc.send(c, payload: Build.pattern(told + 100), at: .ms(200))
        sc.advance(to: .ms(300))
        let last = try #require(sc.take().last)
        #expect(last.ack == c.seq &+ UInt32(told))
    }

    /// Issue 7, defect 3, with a scaled window: once the window told is 0, a one-byte probe
    /// at RCV.NXT is answered with the unchanged ACK and window 0, and data at or beyond the
    /// edge draws an ACK too (RFC 9293 §3.10.7.4: "an acknowledgment should be sent in reply").
    @Test func aScaledZeroWindowTakesNoProbeAndAnswersBeyondTheEdge() throws {
        var sc = TCPScenario { $0.tcp.receiveBuffer = 70000 }
        var c = sc.passiveOpen(options: TCPOptions(mss: 1460, windowScale: 0))
        // Fill the window told, segment by segment, without reading.
        var edge = 65535
        var sent = 0
        var guardSteps = 0
        while edge - sent > 0 && guardSteps < 200 {
            guardSteps += 1
            let n = min(1460, edge - sent)
            sc.send(c, seq: c.seq &+ UInt32(sent), payload: Build.pattern(n), at: .ms(Int64(guardSteps)))
            sent += n
            sc.advance(to: .ms(Int64(guardSteps) + 50))
            if let a = sc.take().last { edge = Int(a.ack &- c.seq) + (Int(a.window) << 1) }
        }
        #expect(edge == sent, "the window told is closed")
        c.seq = c.seq &+ UInt32(sent)
        sc.send(c, payload: [0xEE], at: .ms(1000))
        let probe = try #require(sc.take().last)
        #expect(probe.ack == c.seq && probe.window == 0)
        sc.send(c, seq: c.seq &+ 10, payload: Build.pattern(100), at: .ms(2000))
        let beyond = try #require(sc.take().last)
        #expect(beyond.ack == c.seq && beyond.window == 0)
    }

    /// A peer that sent up to the right edge and lost a segment sends its ACKs with SEG.SEQ at
    /// the edge. They are taken, as Linux's tcp_sequence takes them (`!after(seq, rcv_nxt +
    /// window)`): refusing them ignored every acknowledgment of ours until the peer's RTO,
    /// and a soak with 1 % faults stalled two echo streams for minutes on it.
    @Test func anACKAtTheRightEdgeIsTaken() throws {
        var sc = TCPScenario()
        var c = sc.passiveOpen(options: TCPOptions(mss: 1460, sackPermitted: true))
        sc.write(c.fd!, Build.pattern(1000))
        let data = try #require(sc.take().last)
        #expect(data.payload.count == 1000)
        // The peer sends the whole window but its first 1000 bytes are lost.
        sc.send(c, seq: c.seq &+ 1000, payload: Build.pattern(65535 - 1000), at: .ms(1))
        _ = sc.take()
        #expect(sc.info(c.fd!)?.sndUna == c.ack)
        // Its pure ACK of our data, from the edge.
        c.seq = c.seq &+ 65535
        sc.send(c, ack: c.ack &+ 1000, at: .ms(2))
        #expect(sc.info(c.fd!)?.sndUna == c.ack &+ 1000)
        #expect(sc.stack.counters[.tcpOutOfWindow] == 0)
    }

    /// Issue 7, defect 3, over a whole fill: with a shift of 3 and segments of 999 bytes the
    /// edge told is rounded up ACK after ACK (RFC 7323 §2.4) and creeps past the buffer; the
    /// buffer still stores every byte up to each edge told (its slack), the edge moves left
    /// by less than 2^shift at worst, and a segment straddling the last edge is taken
    /// exactly up to it — never trimmed by free buffer space.
    @Test func everyEdgeToldIsStoredWhileTheWindowCloses() throws {
        var sc = TCPScenario { $0.tcp.receiveBuffer = 300_000 }
        var c = sc.passiveOpen(options: TCPOptions(mss: 1460, windowScale: 0))
        let start = c.seq
        var edge = 65535  // the SYN,ACK's unscaled window, as stream offset
        var sent = 0
        var t: Int64 = 1
        for _ in 0..<1000 where edge - sent > 999 + 700 {
            sc.send(c, payload: Build.pattern(999), at: .ms(t))
            c.seq = c.seq &+ 999
            sent += 999
            t += 1
            for seg in sc.take() where seg.flags.contains(.ack) {
                let told = Int(seg.ack &- start) + Int(seg.window) << 3
                #expect(told > edge - 8, "the edge told moves left by less than 2^shift at most")
                edge = told
            }
        }
        sc.advance(to: .ms(t + 300))
        for seg in sc.take() { edge = Int(seg.ack &- start) + Int(seg.window) << 3 }
        #expect(edge > 300_000, "rounding up carried the edge past the buffer")
        let inside = edge - sent
        sc.send(c, payload: Build.pattern(inside + 100), at: .ms(t + 400))
        sc.advance(to: .ms(t + 500))
        let last = try #require(sc.take().last)
        #expect(last.ack == start &+ UInt32(edge), "taken exactly up to the edge told")
        #expect(last.window == 0)
    }

    /// The peer closes its window; we probe with <SEQ=SND.UNA−1> (as Linux) at the persist
    /// interval, backing off to 120 s, for as long as the probes are answered; then the window
    /// opens and the data goes.
    @Test func zeroWindowProbesForTenMinutes() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: Self.mss1000, window: 3000)
        let fd = c.fd!
        #expect(sc.write(fd, Build.pattern(5000)).value == 5000)
        #expect(sc.take().map(\.payload.count) == [1000, 1000, 1000])
        // All acknowledged at once (an RTT of 0: RTO 200 ms), window 0.
        sc.send(c, ack: c.ack + 3000, window: 0)
        sc.expectNone()
        var probes: [Segment] = []
        while sc.now < .seconds(600) {
            sc.advance(to: min(sc.stack.nextDeadline() ?? .seconds(600), .seconds(600)))
            for p in sc.take() {
                probes.append(p)
                sc.send(c, ack: c.ack + 3000, window: 0)
            }
            #expect(sc.take().isEmpty)
        }
        for p in probes {
            TCPScenario.check(
                p,
                seq: c.ack + 2999,
                ack: c.seq,
                flags: [.ack],
                window: 65535,
                length: 0,
                "",
                #_sourceLocation
            )
        }
        let times = probes.map { Double($0.time.nanoseconds / 100_000_000) / 10 }
        #expect(times == [0.2, 0.6, 1.4, 3.0, 6.2, 12.6, 25.4, 51.0, 102.2, 204.6, 324.6, 444.6, 564.6])
        #expect(sc.state(fd) == .established)
        // The window opens: the remaining 2000 bytes go.
        sc.send(c, ack: c.ack + 3000, window: 65535, at: .seconds(601))
        let segments = sc.take()
        #expect(segments.map(\.seq) == [c.ack + 3000, c.ack + 4000])
        #expect(segments.map(\.payload.count) == [1000, 1000])
    }

    /// The persist timer also fires when the window opens but the update was lost: the probe's
    /// answer carries the new window.
    @Test func lostWindowUpdateIsRecoveredByAProbe() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: Self.mss1000, window: 1000)
        #expect(sc.write(c.fd!, Build.pattern(1500)).value == 1500)
        sc.expectOne(seq: c.ack, length: 1000)
        sc.send(c, ack: c.ack + 1000, window: 0)
        sc.advance(to: .ms(250))
        sc.expectOne(seq: c.ack + 999, ack: c.seq, flags: [.ack], length: 0, at: .ms(200))
        sc.send(c, ack: c.ack + 1000, window: 4000)
        sc.expectOne(seq: c.ack + 1000, flags: [.ack, .psh], length: 500, at: .ms(250))
    }

    /// A window smaller than the sender's SWS thresholds (less than an MSS and half the largest
    /// window offered) with nothing in flight: the data waits for the override timeout, then
    /// what fits goes (RFC 9293 §3.8.6.2.1 (d); Linux's probe timer sends a window-sized segment).
    @Test func smallWindowIsFilledAfterTheOverrideTimeout() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: Self.mss1000, window: 10000)
        let fd = c.fd!
        #expect(sc.write(fd, Build.pattern(10000)).value == 10000)
        #expect(sc.take().count == 10)
        // All acknowledged (RTT 0: RTO 200 ms), the window now 500.
        sc.send(c, ack: c.ack + 10000, window: 500)
        #expect(sc.write(fd, Build.pattern(1000)).value == 1000)
        sc.expectNone("silly window avoidance holds 500 bytes")
        sc.advance(to: .ms(300))
        sc.expectOne(seq: c.ack + 10000, ack: c.seq, flags: [.ack], length: 500, at: .ms(200))
        sc.send(c, ack: c.ack + 10500, window: 5000, at: .ms(300))
        sc.expectOne(seq: c.ack + 10500, flags: [.ack, .psh], length: 500, at: .ms(300))
    }

    /// A peer shrinking its window (RFC 9293 §3.8.6.2.1: the sender must be robust against it):
    /// nothing is sent beyond the new right edge.
    @Test func peerShrinksItsWindow() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: Self.mss1000, window: 4000)
        #expect(sc.write(c.fd!, Build.pattern(6000)).value == 6000)
        #expect(sc.take().map(\.seq) == [c.ack, c.ack + 1000, c.ack + 2000, c.ack + 3000])
        // One segment acknowledged, the window cut to 1000: the right edge moves from +4000 back
        // to +2000, below SND.NXT.
        sc.send(c, ack: c.ack + 1000, window: 1000, at: .ms(10))
        sc.expectNone()
        sc.send(c, ack: c.ack + 2000, window: 1500, at: .ms(11))
        sc.expectNone("the right edge +3500 is still below SND.NXT +4000")
        // Everything acknowledged, window 2000: two more segments.
        sc.send(c, ack: c.ack + 4000, window: 2000, at: .ms(12))
        let s = sc.take()
        #expect(s.map(\.seq) == [c.ack + 4000, c.ack + 5000])
        #expect(s.map(\.payload.count) == [1000, 1000])
    }

    /// The window shrinks to zero with data outstanding. The retransmissions become the window
    /// probes (RFC 1122 §4.2.2.17: "As long as the receiving TCP continues to send
    /// acknowledgments in response to the probe segments, the sending TCP MUST allow the
    /// connection to stay open"; Linux's tcp_retransmit_timer does the same).
    @Test func windowShrunkToZeroWithDataOutstanding() {
        var sc = TCPScenario { $0.tcp.retries = 3 }
        let c = sc.passiveOpen(options: Self.mss1000, window: 4000)
        let fd = c.fd!
        #expect(sc.write(fd, Build.pattern(4000)).value == 4000)
        #expect(sc.take().count == 4)
        sc.send(c, ack: c.ack + 1000, window: 0)
        var probes: [Segment] = []
        while sc.now < .seconds(600) {
            sc.advance(to: min(sc.stack.nextDeadline() ?? .seconds(600), .seconds(600)))
            for p in sc.take() {
                probes.append(p)
                sc.send(c, ack: c.ack + 1000, window: 0)
            }
        }
        #expect(sc.state(fd) == .established)
        // One full segment from SND.UNA each time, on the backed-off RTO (200 ms after an RTT
        // sample of 0), capped at 120 s. Their answers are not duplicate ACKs that could start
        // a fast retransmit: after a timeout `recover` is SND.MAX (RFC 6582 §3.2 (6)).
        for p in probes {
            TCPScenario.check(p, seq: c.ack + 1000, ack: c.seq, flags: [.ack], length: 1000, "", #_sourceLocation)
        }
        let times = probes.map { Double($0.time.nanoseconds / 100_000_000) / 10 }
        #expect(times == [0.2, 0.6, 1.4, 3.0, 6.2, 12.6, 25.4, 51.0, 102.2, 204.6, 324.6, 444.6, 564.6])
        // The window opens: slow start from one segment (RFC 5681 §3.1 loss window).
        sc.send(c, ack: c.ack + 1000, window: 10000, at: .seconds(601))
        #expect(sc.take().map(\.seq) == [c.ack + 1000])
        sc.send(c, ack: c.ack + 2000, window: 10000, at: .seconds(601))
        #expect(sc.take().map(\.seq) == [c.ack + 2000, c.ack + 3000])
        sc.send(c, ack: c.ack + 4000, window: 10000, at: .seconds(601))
        sc.expectNone()
        #expect(sc.info(fd)?.sendQueue == 0)
    }
}

extension TCPWindowTests {
    /// A peer that offered a zero window and then answers none of the probes is gone: after
    /// `retries` unanswered probes the connection fails with ETIMEDOUT (Linux's tcp_probe_timer
    /// with tcp_retries2); answered probes never abort (the ten-minute test above).
    @Test func unansweredZeroWindowProbesTimeOut() {
        var sc = TCPScenario { $0.tcp.retries = 3 }
        let c = sc.passiveOpen(options: TCPOptions(mss: 1000), window: 0)
        let fd = c.fd!
        #expect(sc.write(fd, Build.pattern(2000)).value == 2000)
        sc.advance(to: .seconds(600))
        let probes = sc.take()
        #expect(probes.count == 3, "three probes, then the connection gives up")
        #expect(probes.allSatisfy { $0.length == 0 && $0.seq == c.ack &- 1 })
        #expect(sc.state(fd) == .closed)
        #expect(sc.read(fd).error == .ETIMEDOUT)
    }
}
