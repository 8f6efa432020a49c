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
