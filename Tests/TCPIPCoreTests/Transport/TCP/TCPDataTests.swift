import Testing

@testable import TCPIPCore

/// Data in both directions: RFC 9293 §3.10.7.4 "first check sequence number" (acceptability,
/// trimming), "fifth check the ACK field", "seventh, process the segment text", with delayed
/// ACKs (§3.8.6.3), Nagle (§3.7.4), SACK (RFC 2018) and sequence numbers that wrap.
@Suite struct TCPDataTests {
    static let mss1460 = TCPOptions(mss: 1460)

    @Test func inOrderDataIsDelayedACKed() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        let data = Build.pattern(100)
        sc.send(c, [.ack, .psh], payload: data, at: .ms(5))
        sc.expectNone("the ACK is delayed")
        #expect(sc.read(c.fd!).value?.bytes == data)
        // Linux's delayed-ACK timeout, 40 ms (RFC 9293 §3.8.6.3: under 0.5 s; RFC 1122: 200 ms).
        sc.advance(to: .ms(100))
        sc.expectOne(seq: c.ack, ack: c.seq + 100, flags: [.ack], window: 65535, length: 0, at: .ms(45))
    }

    /// Data going the other way carries the ACK and cancels the delayed one.
    @Test func delayedACKRidesOnData() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.send(c, payload: Build.pattern(100), at: .ms(5))
        sc.write(c.fd!, Build.pattern(20))
        sc.expectOne(seq: c.ack, ack: c.seq + 100, flags: [.ack, .psh], length: 20, at: .ms(5))
        sc.advance(to: .ms(200))
        sc.expectNone()
    }

    /// RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2: an ACK at least for every second full-sized segment.
    @Test func everySecondFullSegmentIsACKed() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: Self.mss1460)
        sc.send(c, payload: Build.pattern(1460), at: .ms(1))
        sc.expectNone()
        sc.send(c, seq: c.seq + 1460, payload: Build.pattern(1460), at: .ms(2))
        sc.expectOne(seq: c.ack, ack: c.seq + 2920, flags: [.ack], window: 65535, at: .ms(2))
        sc.send(c, seq: c.seq + 2920, payload: Build.pattern(1460), at: .ms(3))
        sc.expectNone()
        sc.send(c, seq: c.seq + 4380, payload: Build.pattern(1460), at: .ms(4))
        sc.expectOne(seq: c.ack, ack: c.seq + 5840, flags: [.ack], window: 65535, at: .ms(4))
        // A single full segment waits for the timer.
        sc.send(c, seq: c.seq + 5840, payload: Build.pattern(1460), at: .ms(10))
        sc.advance(to: .ms(300))
        sc.expectOne(seq: c.ack, ack: c.seq + 7300, flags: [.ack], at: .ms(50))
    }

    /// RFC 9293 §3.10.7.4: "If an incoming segment is not acceptable, an acknowledgment should
    /// be sent in reply (unless the RST bit is set)".
    @Test func unacceptableSegmentsGetAnACK() {
        var sc = TCPScenario { $0.tcp.outOfWindowAckInterval = 0 }
        let c = sc.passiveOpen()
        // Beyond the window (65535 offered).
        sc.send(c, seq: c.seq + 65535, payload: Build.pattern(10))
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack], window: 65535, length: 0)
        sc.send(c, seq: c.seq + 100_000, [.ack, .fin])
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack], window: 65535, length: 0)
        // An old duplicate, entirely before RCV.NXT.
        sc.send(c, payload: Build.pattern(10))
        sc.send(c, seq: c.seq, payload: Build.pattern(10), at: .ms(1))
        sc.expectOne(seq: c.ack, ack: c.seq + 10, flags: [.ack], window: 65535, at: .ms(1))
        // An old bare ACK (SEG.SEQ < RCV.NXT) too.
        sc.send(c, seq: c.seq + 5, at: .ms(2))
        sc.expectOne(seq: c.ack, ack: c.seq + 10, flags: [.ack], at: .ms(2))
        #expect(sc.read(c.fd!).value?.bytes == Build.pattern(10))
        #expect(sc.state(c.fd!) == .established)
    }

    /// RFC 9293 §3.10.7.4 fifth: "if the ACK bit is off, drop the segment and return".
    @Test func segmentWithoutACKIsDropped() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.send(c, [.psh], payload: Build.pattern(10))
        sc.send(c, seq: c.seq + 10, [.fin])
        sc.advance(seconds: 1)
        sc.expectNone()
        #expect(sc.read(c.fd!).error == .EAGAIN)
        #expect(sc.state(c.fd!) == .established)
    }

    /// "If the ACK acks something not yet sent (SEG.ACK > SND.NXT) then send an ACK, drop the
    /// segment, and return."
    @Test func ackOfUnsentDataIsACKedAndDropped() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.send(c, ack: c.ack + 100, [.ack, .psh], payload: Build.pattern(10))
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack], window: 65535, length: 0)
        #expect(sc.read(c.fd!).error == .EAGAIN)
        sc.send(c, ack: c.ack + 100, [.ack, .fin])
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack])
        #expect(sc.state(c.fd!) == .established)
        // RFC 5961 §5.2: an ACK older than SND.UNA − MAX.SND.WND is dropped with a challenge ACK.
        sc.send(c, ack: c.ack - 70000, [.ack, .psh], payload: Build.pattern(10))
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack])
        #expect(sc.read(c.fd!).error == .EAGAIN)
        // An old but acceptable ACK carries data that is taken.
        sc.send(c, ack: c.ack - 10, [.ack, .psh], payload: Build.pattern(10))
        #expect(sc.read(c.fd!).value?.bytes == Build.pattern(10))
    }

    /// "If a segment's contents straddle the boundary between old and new, only the new parts
    /// are processed", and data beyond the window is trimmed.
    @Test func overlapTakesOnlyNewBytesAndTrimsToTheWindow() {
        var sc = TCPScenario { $0.tcp.receiveBuffer = 2048 }
        let c = sc.passiveOpen(options: Self.mss1460)
        let a = Build.pattern(100, seed: 1)
        let b = Build.pattern(150, seed: 2)
        sc.send(c, payload: a, at: .ms(1))
        // 50 old bytes (different content, which must not replace the first) and 100 new.
        sc.send(c, seq: c.seq + 50, payload: Array(b[50..<150]), at: .ms(2))
        sc.advance(to: .ms(100))
        // The delayed ACK (timer from the first segment) covers both: 100 + 50 new bytes.
        sc.expectOne(seq: c.ack, ack: c.seq + 150, flags: [.ack], window: 2048 - 150, at: .ms(41))
        #expect(sc.read(c.fd!).value?.bytes == a + Array(b[100..<150]))
        // Reading opened the window by 150 < min(buffer/2, MSS): no window update (receiver SWS).
        sc.expectNone()
        // A segment reaching past the right edge advertised (c.seq + 150 + 1898) is cut at it.
        // The 438 bytes left are not a full segment: the ACK is delayed (timer from 200 ms).
        let big = Build.pattern(1460, seed: 3)
        sc.send(c, seq: c.seq + 150, payload: big, at: .ms(200))
        sc.send(c, seq: c.seq + 1610, payload: big, at: .ms(201))
        // 1460 + 438 bytes taken: the window offered was 1898.
        sc.advance(to: .ms(300))
        sc.expectOne(seq: c.ack, ack: c.seq + 2048, flags: [.ack], window: 0, at: .ms(240))
        let got = sc.read(c.fd!).value?.bytes ?? []
        #expect(got == big + Array(big[0..<438]))
    }

    /// Out-of-order data is held and acknowledged at once with SACK blocks, the first one for the
    /// most recently received segment (RFC 2018 §4, RFC 5681 §4.2).
    @Test func outOfOrderDataWithSACK() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: TCPOptions(mss: 1460, sackPermitted: true))
        let data = Build.pattern(400)
        func blocks(_ s: Segment?) -> [[UInt32]] {
            s.map { $0.options.sackBlocks.map { [$0.left &- c.seq, $0.right &- c.seq] } } ?? []
        }
        sc.send(c, seq: c.seq + 100, payload: Array(data[100..<200]))
        var ack = sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack], window: 65535)
        #expect(blocks(ack) == [[100, 200]])
        sc.send(c, seq: c.seq + 300, payload: Array(data[300..<400]))
        ack = sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack], window: 65535)
        #expect(blocks(ack) == [[300, 400], [100, 200]])
        sc.send(c, seq: c.seq + 150, payload: Array(data[150..<250]))
        ack = sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack])
        #expect(blocks(ack) == [[100, 250], [300, 400]])
        #expect(sc.read(c.fd!).error == .EAGAIN)
        // Filling the first hole: the ACK moves, one block is left.
        sc.send(c, seq: c.seq, payload: Array(data[0..<100]))
        ack = sc.expectOne(seq: c.ack, ack: c.seq + 250, flags: [.ack])
        #expect(blocks(ack) == [[300, 400]])
        sc.send(c, seq: c.seq + 250, payload: Array(data[250..<300]))
        ack = sc.expectOne(seq: c.ack, ack: c.seq + 400, flags: [.ack])
        #expect(blocks(ack) == [])
        #expect(sc.read(c.fd!).value?.bytes == data)
    }

    /// The out-of-order queue is bounded (32 ranges). Junk far out in the window that fills
    /// it costs the junk beyond the bound (counted), never the next segment in order: that
    /// one is always taken, and the stream completes with the true bytes. Held ranges are not
    /// pruned to make room for newer ones: that would renege on SACKed data, which RFC 2018
    /// §8 discourages and which a Linux sender recovers from only by a timeout.
    @Test func outOfOrderJunkNeverKeepsOutTheNextSegmentInOrder() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: TCPOptions(mss: 1460, sackPermitted: true))
        // 40 one-byte ranges far out, every other byte from offset 30 000.
        for k in 0..<40 { sc.send(c, seq: c.seq + UInt32(30_000 + 2 * k), payload: [0xEE]) }
        _ = sc.take()
        #expect(sc.stack.counters[.tcpOutOfOrderFull] == 8)
        let data = Build.pattern(3000)
        sc.send(c, seq: c.seq, payload: Array(data[0..<1460]))
        sc.send(c, seq: c.seq + 1460, payload: Array(data[1460..<3000]))
        let acks = sc.take()
        #expect(acks.last?.ack == c.seq + 3000)
        #expect(sc.read(c.fd!).value?.bytes == data)
    }

    /// A FIN behind a hole is processed only when the hole fills (RFC 9293 §3.10.7.4 eighth: "If
    /// the FIN bit is set, ... advance RCV.NXT over the FIN" only once it is in sequence).
    @Test func finBehindAHole() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        let data = Build.pattern(200)
        sc.send(c, seq: c.seq + 100, [.ack, .fin], payload: Array(data[100..<200]))
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack], window: 65535)
        #expect(sc.state(c.fd!) == .established)
        #expect(sc.read(c.fd!).error == .EAGAIN)
        sc.send(c, seq: c.seq, payload: Array(data[0..<100]), at: .ms(5))
        sc.expectOne(seq: c.ack, ack: c.seq + 201, flags: [.ack], window: 65535, at: .ms(5))
        #expect(sc.state(c.fd!) == .closeWait)
        #expect(sc.read(c.fd!).value?.bytes == data)
        #expect(sc.read(c.fd!).value?.eof == true)
    }

    /// Nagle (RFC 9293 §3.7.4, RFC 896): a small segment waits while data is unacknowledged;
    /// TCP_NODELAY sends it at once.
    @Test func nagleAndNoDelay() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: Self.mss1460)
        let fd = c.fd!
        #expect(sc.write(fd, Build.pattern(100)).value == 100)
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.ack, .psh], window: 65535, length: 100)
        #expect(sc.write(fd, Build.pattern(100)).value == 100)
        #expect(sc.write(fd, Build.pattern(50)).value == 50)
        sc.expectNone("Nagle holds the small segment")
        sc.send(c, ack: c.ack + 100, at: .ms(20))
        sc.expectOne(seq: c.ack + 100, ack: c.seq, flags: [.ack, .psh], length: 150, at: .ms(20))
        sc.setOption(fd, .tcpNoDelay, 1)
        sc.write(fd, Build.pattern(10))
        sc.expectOne(seq: c.ack + 250, flags: [.ack, .psh], length: 10)
        sc.write(fd, Build.pattern(10))
        sc.expectOne(seq: c.ack + 260, flags: [.ack, .psh], length: 10)
        // Full segments never wait.
        sc.setOption(fd, .tcpNoDelay, 0)
        sc.write(fd, Build.pattern(1500))
        let segments = sc.take()
        #expect(segments.map(\.payload.count) == [1460])
        #expect(segments.first?.seq == c.ack + 270)
    }

    /// Sequence numbers wrap (RFC 9293 §3.4): a transfer in both directions across 2^32 (and
    /// across 2^31, where signed comparisons would go wrong).
    @Test(arguments: [UInt32(0xFFFF_FE00), 0x7FFF_FE00])
    func transferAcrossTheWrap(start: UInt32) {
        var sc = TCPScenario(iss: start)
        let c = sc.activeOpen(options: TCPOptions(mss: 1000), peerISN: start &+ 0x100)
        let fd = c.fd!
        let out = Build.pattern(3000, seed: 5)
        #expect(sc.write(fd, out).value == 3000)
        let segments = sc.take()
        #expect(segments.map(\.seq) == [start &+ 1, start &+ 1001, start &+ 2001])
        #expect(segments.flatMap(\.payload) == out)
        sc.send(c, ack: c.ack &+ 1000, at: .ms(10))
        sc.send(c, ack: c.ack &+ 3000, at: .ms(10))
        sc.expectNone()
        #expect(sc.info(fd)?.sndUna == start &+ 3001)
        #expect(sc.info(fd)?.sendQueue == 0)
        // The peer sends 2000 bytes that cross the wrap too.
        let inbound = Build.pattern(2000, seed: 6)
        sc.send(c, ack: c.ack &+ 3000, payload: Array(inbound[0..<1000]), at: .ms(20))
        sc.send(c, seq: c.seq &+ 1000, ack: c.ack &+ 3000, payload: Array(inbound[1000...]), at: .ms(20))
        sc.expectOne(seq: c.ack &+ 3000, ack: c.seq &+ 2000, flags: [.ack], window: 65535)
        #expect(sc.read(fd).value?.bytes == inbound)
        // And the close.
        sc.shutdown(fd, .write)
        sc.expectOne(seq: c.ack &+ 3000, ack: c.seq &+ 2000, flags: [.fin, .ack])
        sc.send(c, seq: c.seq &+ 2000, ack: c.ack &+ 3001, [.fin, .ack], at: .ms(30))
        sc.expectOne(seq: c.ack &+ 3001, ack: c.seq &+ 2001, flags: [.ack])
        #expect(sc.state(fd) == .timeWait)
    }
}
