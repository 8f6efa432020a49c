import Testing

@testable import TCPIPCore

@Suite struct SendBufferTests {
    static func append(_ b: inout SendBuffer, _ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { b.append($0) }
    }

    static func contents(_ b: SendBuffer, from offset: Int = 0, count: Int? = nil) -> [UInt8] {
        let n = count ?? (b.count - offset)
        var out = [UInt8](repeating: 0xEE, count: n)
        let copied = out.withUnsafeMutableBytes { b.copy(from: offset, count: n, into: $0) }
        return Array(out[0..<copied])
    }

    @Test func appendCopyRemove() {
        var b = SendBuffer(capacity: 8)
        #expect(b.capacity == 8 && b.count == 0 && b.freeSpace == 8)
        #expect(Self.append(&b, [1, 2, 3]) == 3)
        #expect(b.count == 3 && b.freeSpace == 5)
        #expect(Self.contents(b) == [1, 2, 3])
        #expect(Self.contents(b, from: 1, count: 2) == [2, 3])
        b.removeFirst(2)
        #expect(Self.contents(b) == [3])
        b.removeFirst(1)
        #expect(b.count == 0)
    }

    @Test func partialAppendWhenFull() {
        var b = SendBuffer(capacity: 5)
        #expect(Self.append(&b, [1, 2, 3]) == 3)
        #expect(Self.append(&b, [4, 5, 6, 7]) == 2)
        #expect(Self.append(&b, [8]) == 0)
        #expect(b.freeSpace == 0)
        #expect(Self.contents(b) == [1, 2, 3, 4, 5])
        #expect(Self.append(&b, []) == 0)
    }

    @Test func wrapAround() {
        var b = SendBuffer(capacity: 8)
        _ = Self.append(&b, [0, 1, 2, 3, 4, 5])
        b.removeFirst(5)
        // Head at 5: the next 7 bytes occupy 6, 7 and then 0 … 4.
        #expect(Self.append(&b, [6, 7, 8, 9, 10, 11, 12]) == 7)
        #expect(b.count == 8)
        #expect(Self.contents(b) == [5, 6, 7, 8, 9, 10, 11, 12])
        #expect(Self.contents(b, from: 2, count: 3) == [7, 8, 9])  // straddles the wrap
        #expect(Self.contents(b, from: 4, count: 4) == [9, 10, 11, 12])  // after the wrap
        b.removeFirst(4)
        #expect(Self.contents(b) == [9, 10, 11, 12])
    }

    @Test func setCapacityKeepsDataAndNeverDropsBelowCount() {
        var b = SendBuffer(capacity: 4)
        _ = Self.append(&b, [1, 2, 3, 4])
        b.removeFirst(3)
        _ = Self.append(&b, [5, 6])  // wrapped: 4 | 5 6
        b.setCapacity(10)
        #expect(b.capacity == 10)
        #expect(Self.contents(b) == [4, 5, 6])
        #expect(Self.append(&b, [7, 8, 9, 10, 11, 12, 13, 14]) == 7)
        #expect(Self.contents(b) == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
        b.setCapacity(2)
        #expect(b.capacity == 10)
        b.removeFirst(8)
        b.setCapacity(2)
        #expect(b.capacity == 2)
        #expect(b.freeSpace == 0)
        #expect(Self.contents(b) == [12, 13])
        b.setCapacity(-1)
        #expect(b.capacity == 2)
    }

    @Test func lazyStorageAndZeroCapacity() {
        var b = SendBuffer(capacity: 0)
        #expect(Self.append(&b, [1]) == 0)
        b.setCapacity(3)
        #expect(Self.append(&b, [1, 2, 3, 4]) == 3)
        #expect(Self.contents(b) == [1, 2, 3])
    }

    @Test func outOfRangeArgumentsAreClamped() {
        var b = SendBuffer(capacity: 4)
        _ = Self.append(&b, [1, 2, 3])
        var out = [UInt8](repeating: 0, count: 2)
        #expect(out.withUnsafeMutableBytes { b.copy(from: 1, count: 5, into: $0) } == 2)
        #expect(out == [2, 3])
        #expect(out.withUnsafeMutableBytes { b.copy(from: 3, count: 1, into: $0) } == 0)
        #expect(out.withUnsafeMutableBytes { b.copy(from: -1, count: 1, into: $0) } == 0)
        b.removeFirst(-3)
        #expect(b.count == 3)
        b.removeFirst(99)
        #expect(b.count == 0)
    }

    @Test func randomOperationsMatchAnArrayModel() {
        var rng = SeededRandom(seed: 0x5E4D)
        var b = SendBuffer(capacity: 97)
        var model: [UInt8] = []
        var capacity = 97
        var next: UInt8 = 0
        for step in 0..<10_000 {
            switch rng.next(below: 10) {
            case 0..<4:
                let n = Int(rng.next(below: 60))
                let bytes = (0..<n).map { _ in
                    next &+= 1
                    return next
                }
                let accepted = Self.append(&b, bytes)
                let expected = Swift.min(n, capacity - model.count)
                #expect(accepted == expected, "step \(step)")
                model += bytes[0..<expected]
                next &-= UInt8(truncatingIfNeeded: n - expected)
            case 4..<7:
                let n = Int(rng.next(below: UInt64(model.count) + 1))
                b.removeFirst(n)
                model.removeFirst(n)
            case 7..<9:
                let offset = Int(rng.next(below: UInt64(model.count) + 1))
                let n = Int(rng.next(below: UInt64(model.count - offset) + 1))
                #expect(Self.contents(b, from: offset, count: n) == Array(model[offset..<(offset + n)]), "step \(step)")
            default:
                let n = Int(rng.next(below: 200))
                b.setCapacity(n)
                capacity = Swift.max(n, model.count)
            }
            #expect(b.count == model.count)
            #expect(b.capacity == capacity)
            #expect(b.freeSpace == capacity - model.count)
        }
        #expect(Self.contents(b) == model)
    }
}
