import Testing

@testable import TCPIPCore

/// Loss detection with SACK (RFC 6675 §2 DupAck) and limited transmit (RFC 3042).
struct TCPSACKRecoveryTests {
    static let mss1000SACK = TCPOptions(mss: 1000, sackPermitted: true)

    static func sack(_ left: UInt32, _ right: UInt32) -> TCPOptions {
        var blocks = SACKBlocks()
        blocks.append(left: left, right: right)
        return TCPOptions(sackBlocks: blocks)
    }

    /// A receiver whose application reads announces a new window on every ACK; its ACKs
    /// still count as duplicates when they SACK new data, and the third starts fast retransmit.
    @Test func sackedDuplicatesCountWhenTheWindowMoves() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: Self.mss1000SACK)
        let fd = c.fd!
        #expect(sc.write(fd, Build.pattern(5000)).value == 5000)
        #expect(sc.take().count == 5)
        // Segment 1 (bytes 1000..<2000) is lost; 2, 3, 4 arrive; each ACK has another window.
        sc.send(c, ack: c.ack &+ 1000, window: 60000, at: .ms(10))
        sc.send(c, ack: c.ack &+ 1000, window: 61000, options: Self.sack(c.ack &+ 2000, c.ack &+ 3000), at: .ms(11))
        sc.send(c, ack: c.ack &+ 1000, window: 62000, options: Self.sack(c.ack &+ 2000, c.ack &+ 4000), at: .ms(12))
        sc.expectNone()
        sc.send(c, ack: c.ack &+ 1000, window: 63000, options: Self.sack(c.ack &+ 2000, c.ack &+ 5000), at: .ms(13))
        sc.expectOne(seq: c.ack &+ 1000, ack: c.seq, flags: [.ack], length: 1000, at: .ms(13))
    }

    /// A SACK block repeating what was SACKed before, with a moved window, is not a duplicate.
    @Test func repeatedSACKWithNewWindowIsNotADuplicate() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: Self.mss1000SACK)
        #expect(sc.write(c.fd!, Build.pattern(5000)).value == 5000)
        #expect(sc.take().count == 5)
        let block = Self.sack(c.ack &+ 2000, c.ack &+ 3000)
        for (i, w) in [60000, 61000, 62000, 63000].enumerated() {
            sc.send(c, ack: c.ack &+ 1000, window: UInt16(w), options: block, at: .ms(10 + Int64(i)))
        }
        sc.expectNone("only the first ACK SACKed new data")
    }

    /// RFC 3042: the first two duplicate ACKs each release one new segment beyond cwnd.
    @Test func limitedTransmitSendsNewDataOnTheFirstTwoDuplicates() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: TCPOptions(mss: 1000))
        let fd = c.fd!
        // 20 segments written; the initial window (10 × 1000) lets 10 go.
        #expect(sc.write(fd, Build.pattern(20000)).value == 20000)
        #expect(sc.take().count == 10)
        sc.send(c, ack: c.ack &+ 1000, at: .ms(10))  // new data acked: cwnd 11000, two more go
        #expect(sc.take().map(\.seq) == [c.ack &+ 10000, c.ack &+ 11000])
        sc.send(c, ack: c.ack &+ 1000, at: .ms(11))  // duplicate 1
        #expect(sc.take().map(\.seq) == [c.ack &+ 12000])
        sc.send(c, ack: c.ack &+ 1000, at: .ms(12))  // duplicate 2
        #expect(sc.take().map(\.seq) == [c.ack &+ 13000])
        sc.send(c, ack: c.ack &+ 1000, at: .ms(13))  // duplicate 3: fast retransmit
        #expect(sc.take().first?.seq == c.ack &+ 1000)
    }
}

extension TCPSACKRecoveryTests {
    /// RFC 6675 §4 NextSeg: in recovery, each further duplicate ACK resends the next hole the
    /// SACK blocks reveal, without waiting a round trip for the partial ACK.
    @Test func recoveryResendsTheNextHoleOnADuplicateACK() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: Self.mss1000SACK)
        #expect(sc.write(c.fd!, Build.pattern(8000)).value == 8000)
        #expect(sc.take().count == 8)
        // Segments 1 (1000..<2000) and 3 (3000..<4000) are lost; 0, 2, 4, 5, 6, 7 arrive.
        let a = c.ack
        sc.send(c, ack: a &+ 1000, at: .ms(10))
        sc.send(c, ack: a &+ 1000, options: Self.sack(a &+ 2000, a &+ 3000), at: .ms(11))
        sc.send(c, ack: a &+ 1000, options: Self.twoBlocks(a &+ 4000, a &+ 5000, a &+ 2000, a &+ 3000), at: .ms(12))
        sc.expectNone()
        sc.send(c, ack: a &+ 1000, options: Self.twoBlocks(a &+ 4000, a &+ 6000, a &+ 2000, a &+ 3000), at: .ms(13))
        sc.expectOne(seq: a &+ 1000, ack: c.seq, flags: [.ack], length: 1000, at: .ms(13))
        sc.send(c, ack: a &+ 1000, options: Self.twoBlocks(a &+ 4000, a &+ 7000, a &+ 2000, a &+ 3000), at: .ms(14))
        sc.expectOne(seq: a &+ 3000, ack: c.seq, flags: [.ack], length: 1000, at: .ms(14))
        // Nothing else is missing below the highest SACKed byte.
        sc.send(c, ack: a &+ 1000, options: Self.twoBlocks(a &+ 4000, a &+ 8000, a &+ 2000, a &+ 3000), at: .ms(15))
        sc.expectNone()
        sc.send(c, ack: a &+ 8000, at: .ms(20))
        sc.expectNone()
        #expect(sc.info(c.fd!)?.sendQueue == 0)
    }

    static func twoBlocks(_ l1: UInt32, _ r1: UInt32, _ l2: UInt32, _ r2: UInt32) -> TCPOptions {
        var blocks = SACKBlocks()
        blocks.append(left: l1, right: r1)
        blocks.append(left: l2, right: r2)
        return TCPOptions(sackBlocks: blocks)
    }
}
