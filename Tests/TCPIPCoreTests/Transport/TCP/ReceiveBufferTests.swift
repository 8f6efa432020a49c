import Testing

@testable import TCPIPCore

@Suite struct ReceiveBufferTests {
    /// The byte at stream offset `x`: every test's data is this function of position, so any
    /// misplaced byte shows.
    static func byte(_ x: Int) -> UInt8 { UInt8(truncatingIfNeeded: x &* 31 &+ x >> 8 &+ 7) }
    static func stream(_ r: Range<Int>) -> [UInt8] { r.map(byte) }

    /// Writes stream bytes `r` (absolute) given RCV.NXT at `nxt`.
    static func write(_ b: inout ReceiveBuffer, _ r: Range<Int>, nxt: Int) -> Int? {
        stream(r).withUnsafeBytes { b.write(at: r.lowerBound - nxt, $0) }
    }

    static func read(_ b: inout ReceiveBuffer, max: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max)
        let n = out.withUnsafeMutableBytes { b.read(into: $0) }
        return Array(out[0..<n])
    }

    @Test func inOrder() {
        var b = ReceiveBuffer(capacity: 100)
        #expect(b.readable == 0 && b.window == 100 && !b.hasOutOfOrder)
        #expect(Self.write(&b, 0..<10, nxt: 0) == 10)
        #expect(Self.write(&b, 10..<25, nxt: 10) == 15)
        #expect(b.readable == 25 && b.window == 75)
        #expect(Self.read(&b, max: 5) == Self.stream(0..<5))
        #expect(b.readable == 20 && b.window == 80)
        #expect(Self.read(&b, max: 100) == Self.stream(5..<25))
        #expect(b.readable == 0 && b.window == 100)
        #expect(Self.read(&b, max: 100) == [])
    }

    @Test func outOfOrderFillingAHole() {
        var b = ReceiveBuffer(capacity: 100)
        #expect(Self.write(&b, 20..<30, nxt: 0) == 0)
        #expect(b.outOfOrderRanges == [20..<30])
        #expect(b.mostRecentRange == 20..<30)
        #expect(Self.write(&b, 40..<50, nxt: 0) == 0)
        #expect(b.outOfOrderRanges == [20..<30, 40..<50])
        #expect(b.mostRecentRange == 40..<50)
        #expect(b.readable == 0 && b.window == 100)
        // Adjacent ranges merge.
        #expect(Self.write(&b, 30..<35, nxt: 0) == 0)
        #expect(b.outOfOrderRanges == [20..<35, 40..<50])
        #expect(b.mostRecentRange == 20..<35)
        // Filling the first hole returns everything now contiguous.
        #expect(Self.write(&b, 0..<20, nxt: 0) == 35)
        #expect(b.readable == 35)
        // The ranges are now relative to the new RCV.NXT (35).
        #expect(b.outOfOrderRanges == [5..<15])
        #expect(b.mostRecentRange == nil)  // the latest out-of-order data is in order now
        #expect(Self.write(&b, 35..<40, nxt: 35) == 15)
        #expect(!b.hasOutOfOrder)
        #expect(Self.read(&b, max: 100) == Self.stream(0..<50))
    }

    @Test func mostRecentRangeSurvivesInOrderProgress() {
        var b = ReceiveBuffer(capacity: 100)
        _ = Self.write(&b, 50..<60, nxt: 0)
        _ = Self.write(&b, 20..<30, nxt: 0)
        #expect(b.mostRecentRange == 20..<30)
        #expect(Self.write(&b, 0..<10, nxt: 0) == 10)
        #expect(b.mostRecentRange == 10..<20)
        #expect(b.outOfOrderRanges == [10..<20, 40..<50])
    }

    @Test func duplicateAndOverlappingWrites() {
        var b = ReceiveBuffer(capacity: 100)
        #expect(Self.write(&b, 10..<20, nxt: 0) == 0)
        #expect(Self.write(&b, 10..<20, nxt: 0) == 0)
        #expect(Self.write(&b, 15..<25, nxt: 0) == 0)
        #expect(Self.write(&b, 5..<12, nxt: 0) == 0)
        #expect(b.outOfOrderRanges == [5..<25])
        #expect(b.outOfOrderBytes == 20)
        // One write spanning several ranges and the holes between them.
        _ = Self.write(&b, 30..<35, nxt: 0)
        _ = Self.write(&b, 40..<45, nxt: 0)
        #expect(Self.write(&b, 22..<42, nxt: 0) == 0)
        #expect(b.outOfOrderRanges == [5..<45])
        // An in-order write overlapping held data counts each byte once.
        #expect(Self.write(&b, 0..<30, nxt: 0) == 45)
        #expect(Self.read(&b, max: 100) == Self.stream(0..<45))
    }

    @Test func tooManyRangesIsRefused() {
        var b = ReceiveBuffer(capacity: 100, maxRanges: 3)
        #expect(Self.write(&b, 10..<12, nxt: 0) == 0)
        #expect(Self.write(&b, 20..<22, nxt: 0) == 0)
        #expect(Self.write(&b, 30..<32, nxt: 0) == 0)
        #expect(Self.write(&b, 40..<42, nxt: 0) == nil)
        #expect(b.outOfOrderRanges == [10..<12, 20..<22, 30..<32])
        #expect(b.mostRecentRange == 30..<32)
        // Extending or joining existing ranges is still fine.
        #expect(Self.write(&b, 12..<15, nxt: 0) == 0)
        #expect(Self.write(&b, 22..<30, nxt: 0) == 0)
        #expect(b.outOfOrderRanges == [10..<15, 20..<32])
        #expect(Self.write(&b, 40..<42, nxt: 0) == 0)
        // In-order data is always accepted.
        #expect(Self.write(&b, 0..<3, nxt: 0) == 3)
        var none = ReceiveBuffer(capacity: 100, maxRanges: 0)
        #expect(Self.write(&none, 1..<2, nxt: 0) == nil)
        #expect(Self.write(&none, 0..<2, nxt: 0) == 2)
    }

    @Test func ringWrapsAround() {
        var b = ReceiveBuffer(capacity: 16)
        #expect(Self.write(&b, 0..<12, nxt: 0) == 12)
        #expect(Self.read(&b, max: 10) == Self.stream(0..<10))
        // Read position at ring index 10; bytes 12..<26 wrap past index 15.
        #expect(b.window == 14)
        #expect(Self.write(&b, 16..<26, nxt: 12) == 0)
        #expect(Self.write(&b, 12..<16, nxt: 12) == 14)
        #expect(b.window == 0)
        #expect(Self.read(&b, max: 7) == Self.stream(10..<17))
        #expect(Self.read(&b, max: 100) == Self.stream(17..<26))
    }

    @Test func zeroLengthAndOutOfWindowWrites() {
        var b = ReceiveBuffer(capacity: 10)
        #expect(b.write(at: 0, UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
        #expect([UInt8]().withUnsafeBytes { b.write(at: 3, $0) } == 0)
        #expect(!b.hasOutOfOrder && b.readable == 0)
        // Beyond the window: trimmed, or ignored.
        #expect(Self.write(&b, 0..<15, nxt: 0) == 10)
        #expect(Self.write(&b, 10..<11, nxt: 10) == 0)
        #expect(Self.stream(0..<1).withUnsafeBytes { b.write(at: -1, $0) } == 0)
        #expect(b.readable == 10 && b.window == 0)
        #expect(Self.read(&b, max: 20) == Self.stream(0..<10))
    }

    @Test func discardAndPeek() {
        var b = ReceiveBuffer(capacity: 10)
        _ = Self.write(&b, 0..<8, nxt: 0)
        var out = [UInt8](repeating: 0, count: 3)
        #expect(out.withUnsafeMutableBytes { b.peek(into: $0) } == 3)
        #expect(out == Self.stream(0..<3))
        b.discard(5)
        #expect(b.readable == 3)
        b.discard(-1)
        b.discard(100)
        #expect(b.readable == 0 && b.window == 10)
    }

    @Test func setCapacity() {
        var b = ReceiveBuffer(capacity: 8)
        _ = Self.write(&b, 0..<6, nxt: 0)
        _ = Self.read(&b, max: 5)
        _ = Self.write(&b, 6..<9, nxt: 6)  // wraps
        _ = Self.write(&b, 10..<13, nxt: 9)  // out of order, wraps
        // While data is held the capacity only grows; the held bytes move intact.
        b.setCapacity(4)
        #expect(b.capacity == 8)
        b.setCapacity(32)
        #expect(b.capacity == 32)
        #expect(b.outOfOrderRanges == [1..<4])
        #expect(Self.write(&b, 9..<10, nxt: 9) == 4)
        #expect(Self.read(&b, max: 100) == Self.stream(5..<13))
        // Empty: may shrink.
        b.setCapacity(4)
        #expect(b.capacity == 4 && b.window == 4)
        #expect(Self.write(&b, 13..<20, nxt: 13) == 4)
        #expect(Self.read(&b, max: 100) == Self.stream(13..<17))
        b.discardOutOfOrder()
    }

    @Test func forEachMatchesArray() {
        var b = ReceiveBuffer(capacity: 100)
        _ = Self.write(&b, 5..<7, nxt: 0)
        _ = Self.write(&b, 9..<12, nxt: 0)
        var seen: [Range<Int>] = []
        b.forEachOutOfOrderRange { seen.append($0) }
        #expect(seen == b.outOfOrderRanges)
        #expect(seen == [5..<7, 9..<12])
        b.discardOutOfOrder()
        #expect(!b.hasOutOfOrder && b.mostRecentRange == nil)
    }

    /// The model: RCV.NXT, the read position, and the held out-of-order data as absolute ranges
    /// kept merged by sorting and folding — a different algorithm from the buffer's.
    struct Model {
        var capacity: Int
        var maxRanges: Int
        var read = 0
        var nxt = 0
        var held: [Range<Int>] = []
        var latest: Int?

        var window: Int { capacity - (nxt - read) }
        /// The window plus the slack of capacity/16 a rounded-up edge told may reach into.
        var storable: Int { capacity + capacity / 16 - (nxt - read) }

        static func normalized(_ ranges: [Range<Int>]) -> [Range<Int>] {
            var result: [Range<Int>] = []
            for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
                if let last = result.last, r.lowerBound <= last.upperBound {
                    result[result.count - 1] = last.lowerBound..<Swift.max(last.upperBound, r.upperBound)
                } else {
                    result.append(r)
                }
            }
            return result
        }

        var relativeRanges: [Range<Int>] { held.map { ($0.lowerBound - nxt)..<($0.upperBound - nxt) } }
        var heldBytes: Int { held.reduce(0) { $0 + $1.count } }

        var mostRecent: Range<Int>? {
            guard let w = latest else { return nil }
            return relativeRanges.first { $0.contains(w - nxt) }
        }

        mutating func write(at offset: Int, count: Int) -> Int? {
            guard offset >= 0, offset < storable else { return 0 }
            let n = Swift.min(count, storable - offset)
            guard n > 0 else { return 0 }
            let start = nxt + offset
            let grown = Self.normalized(held + [start..<(start + n)])
            if offset == 0 {
                let old = nxt
                nxt = grown[0].upperBound
                held = Array(grown.dropFirst())
                return nxt - old
            }
            if grown.count > maxRanges { return nil }
            held = grown
            latest = start
            return 0
        }
    }

    @Test(arguments: [(997, 32, 24, UInt64(1)), (64, 3, 16, 2), (4096, 8, 1024, 3)])
    func randomSegmentsMatchAModel(capacity: Int, maxRanges: Int, maxSegment: Int, seed: UInt64) {
        var rng = SeededRandom(seed: 0xB0FF + seed)
        var b = ReceiveBuffer(capacity: capacity, maxRanges: maxRanges)
        var m = Model(capacity: capacity, maxRanges: maxRanges)
        var refused = 0
        var joined = 0
        var outOfOrder = 0
        for step in 0..<10_000 {
            switch rng.next(below: 10) {
            case 0..<6:
                // A segment somewhere in (and occasionally beyond) the window.
                let span = UInt64(Swift.max(m.window, 1))
                let offset = rng.chance(0.3) ? 0 : Int(rng.next(below: span + 4))
                let count = Int(rng.next(below: UInt64(maxSegment)))
                let start = m.nxt + offset
                let got = Self.stream(start..<(start + count)).withUnsafeBytes { b.write(at: offset, $0) }
                let expected = m.write(at: offset, count: count)
                #expect(got == expected, "step \(step) write \(offset) +\(count)")
                switch expected {
                case nil: refused += 1
                case 0?: if offset > 0 && count > 0 { outOfOrder += 1 }
                case let n?: if n > count { joined += 1 }
                }
            case 6..<8:
                let n = Int(rng.next(below: UInt64(capacity / 2 + 1)))
                let want = Swift.min(n, m.nxt - m.read)
                #expect(Self.read(&b, max: n) == Self.stream(m.read..<(m.read + want)), "step \(step)")
                m.read += want
            case 8:
                let n = Int(rng.next(below: 40))
                b.discard(n)
                m.read += Swift.min(n, m.nxt - m.read)
            default:
                if rng.chance(0.1) {
                    let n = Int(rng.next(below: UInt64(capacity * 2)))
                    b.setCapacity(n)
                    let holding = m.nxt > m.read || !m.held.isEmpty
                    m.capacity = holding ? Swift.max(n, m.capacity) : n
                }
            }
            #expect(b.readable == m.nxt - m.read, "step \(step)")
            #expect(b.window == m.window, "step \(step)")
            #expect(b.capacity == m.capacity, "step \(step)")
            #expect(b.outOfOrderRanges == m.relativeRanges, "step \(step)")
            #expect(b.mostRecentRange == m.mostRecent, "step \(step)")
            #expect(b.outOfOrderBytes == m.heldBytes, "step \(step)")
            if b.outOfOrderRanges != m.relativeRanges { break }
        }
        // The run exercised every path: refusals, out-of-order holds, holes filled.
        #expect(refused > 0 && outOfOrder > 0 && joined > 0)
    }
}
