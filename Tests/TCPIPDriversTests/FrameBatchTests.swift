import TCPIPCore
import Testing

@testable import TCPIPDrivers

@Suite struct FrameBatchTests {
    static func frames(_ batch: FrameBatch) -> [([UInt8], FrameOffload)] {
        var all: [([UInt8], FrameOffload)] = []
        batch.forEachFrame { frame, offload in all.append((Array(frame), offload)) }
        return all
    }

    @Test func framesArePackedInOrderWithTheirMetadata() {
        var batch = FrameBatch(maxFrames: 4, maxFrameLength: 100, byteCapacity: 400)
        let valid = FrameOffload(flags: .dataValid)
        ([1, 2, 3] as [UInt8]).withUnsafeBytes { batch.append(copying: $0) }
        ([4, 5] as [UInt8]).withUnsafeBytes { batch.append(copying: $0, offload: valid) }
        #expect(batch.count == 2)
        let got = Self.frames(batch)
        #expect(got.map(\.0) == [[1, 2, 3], [4, 5]])
        #expect(got.map(\.1) == [.none, valid])
    }

    @Test func roomEndsAtMaxFramesOrWhenAFullLengthFrameNoLongerFits() {
        var byCount = FrameBatch(maxFrames: 2, maxFrameLength: 10, byteCapacity: 1000)
        ([0] as [UInt8]).withUnsafeBytes { byCount.append(copying: $0) }
        #expect(byCount.hasRoom)
        ([0] as [UInt8]).withUnsafeBytes { byCount.append(copying: $0) }
        #expect(!byCount.hasRoom)
        var byBytes = FrameBatch(maxFrames: 100, maxFrameLength: 10, byteCapacity: 25)
        [UInt8](repeating: 1, count: 10).withUnsafeBytes { byBytes.append(copying: $0) }
        #expect(byBytes.hasRoom)
        [UInt8](repeating: 2, count: 10).withUnsafeBytes { byBytes.append(copying: $0) }
        #expect(!byBytes.hasRoom, "5 bytes left cannot take a 10-byte frame")
        byBytes.removeAll()
        #expect(byBytes.isEmpty && byBytes.hasRoom)
    }

    @Test func aFillThatFindsNoFrameAppendsNothing() {
        var batch = FrameBatch(maxFrames: 2, maxFrameLength: 10)
        let appended = batch.append { _ in nil }
        #expect(!appended)
        #expect(batch.isEmpty)
    }

    @Test func aFillsErrorIsThrownAndAppendsNothing() {
        struct Failure: Error {}
        var batch = FrameBatch(maxFrames: 2, maxFrameLength: 10)
        #expect(throws: Failure.self) {
            try batch.append { (_) throws(Failure) -> Int? in throw Failure() }
        }
        #expect(batch.isEmpty)
    }

    @Test func longerFramesAreCutToMaxFrameLength() {
        var batch = FrameBatch(maxFrames: 2, maxFrameLength: 4)
        ([1, 2, 3, 4, 5, 6] as [UInt8]).withUnsafeBytes { batch.append(copying: $0) }
        #expect(Self.frames(batch).map(\.0) == [[1, 2, 3, 4]])
    }
}
