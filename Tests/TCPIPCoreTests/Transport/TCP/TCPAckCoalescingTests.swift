import Testing

@testable import TCPIPCore

/// A batch of frames read in one wake-up (`Stack.coalescesAcknowledgments`): in-order data
/// draws one cumulative ACK when the batch ends, as Linux's GRO merges a NAPI poll's frames;
/// what must be answered at once still is (RFC 5681 §4.2: out-of-order data at once).
@Suite struct TCPAckCoalescingTests {
    static let mss = 1460

    @Test func aBatchOfInOrderSegmentsDrawsOneCumulativeACK() throws {
        var sc = TCPScenario()
        var c = sc.passiveOpen(options: TCPOptions(mss: UInt16(Self.mss)))
        let start = c.seq
        sc.stack.coalescesAcknowledgments = true
        for _ in 0..<10 {
            sc.send(c, payload: Build.pattern(Self.mss))
            c.seq = c.seq &+ UInt32(Self.mss)
        }
        #expect(sc.take().isEmpty, "nothing before the batch ends")
        sc.stack.coalescesAcknowledgments = false
        sc.advance(to: sc.now)
        let acks = sc.take()
        #expect(acks.count == 1)
        #expect(acks.first?.ack == start &+ UInt32(10 * Self.mss))
        #expect(sc.stack.counters[.tcpCoalescedAcks] == 1 && sc.stack.counters[.tcpDelayedAcks] == 0)
    }

    /// Without a batch, every second full-sized segment is acknowledged (RFC 9293 §3.8.6.3).
    @Test func withoutABatchEverySecondSegmentIsAcknowledged() {
        var sc = TCPScenario()
        var c = sc.passiveOpen(options: TCPOptions(mss: UInt16(Self.mss)))
        for _ in 0..<10 {
            sc.send(c, payload: Build.pattern(Self.mss))
            c.seq = c.seq &+ UInt32(Self.mss)
        }
        #expect(sc.take().count == 5)
    }

    /// Out-of-order data in a batch is acknowledged at once, each segment: the duplicate ACKs
    /// a sender's fast retransmit counts (RFC 5681 §3.2, §4.2) are never merged.
    @Test func outOfOrderSegmentsInABatchAreAcknowledgedAtOnce() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: TCPOptions(mss: UInt16(Self.mss)))
        sc.stack.coalescesAcknowledgments = true
        for i in 1...3 {
            sc.send(c, seq: c.seq &+ UInt32(i * Self.mss), payload: Build.pattern(Self.mss))
        }
        let dups = sc.take()
        #expect(dups.count == 3 && dups.allSatisfy { $0.ack == c.seq })
    }
}
