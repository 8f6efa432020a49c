import Glibc
import TCPIPCore
import Testing

@testable import TCPIPDrivers

@Suite struct MemoryDeviceTests {
    static func receive(_ device: MemoryDevice, maxFrames: Int = 64) throws -> [[UInt8]] {
        var batch = FrameBatch(maxFrames: maxFrames, maxFrameLength: 2000)
        try device.receive(into: &batch)
        var frames: [[UInt8]] = []
        batch.forEachFrame { frame, _ in frames.append(Array(frame)) }
        return frames
    }

    static func readable(_ fd: Int32) throws -> Bool {
        var poller = Poller(fds: [fd])
        return try poller.wait(timeout: 0) > 0
    }

    @Test func whatOneEndTransmitsTheOtherReceivesInOrder() throws {
        let (a, b) = try MemoryDevice.pair()
        #expect(a.capabilities == DeviceCapabilities(medium: .ethernet, mtu: 1500))
        #expect(!(try Self.readable(b.readinessDescriptor)))
        try ([1, 2] as [UInt8]).withUnsafeBytes { try a.transmit($0, offload: .none) }
        try ([3] as [UInt8]).withUnsafeBytes { try a.transmit($0, offload: .none) }
        #expect(try Self.readable(b.readinessDescriptor))
        #expect(b.pendingCount == 2)
        #expect(try Self.receive(b) == [[1, 2], [3]])
        #expect(!(try Self.readable(b.readinessDescriptor)), "drained: no longer readable")
        #expect(try Self.receive(b).isEmpty)
        // Nothing went the other way.
        #expect(try Self.receive(a).isEmpty)
        #expect(a.transmitted == 2 && a.drops == 0)
    }

    @Test func aFrameQueueGoesAsOneBatch() throws {
        let (a, b) = try MemoryDevice.pair()
        var queue = FrameQueue(capacity: 4096)
        for i in 0..<5 {
            queue.begin(headroom: 0)
            ([UInt8(i), 9] as [UInt8]).withUnsafeBytes { queue.append($0) }
            queue.commit(interface: 0)
        }
        #expect(try a.transmit(queue) == 5)
        #expect(try Self.receive(b) == (0..<5).map { [UInt8($0), 9] })
    }

    @Test func framesLeftOverFromAFullBatchKeepTheDeviceReadable() throws {
        let (a, b) = try MemoryDevice.pair()
        for i in 0..<5 { try ([UInt8(i)] as [UInt8]).withUnsafeBytes { try a.transmit($0, offload: .none) } }
        #expect(try Self.receive(b, maxFrames: 3) == [[0], [1], [2]])
        #expect(try Self.readable(b.readinessDescriptor))
        #expect(try Self.receive(b, maxFrames: 3) == [[3], [4]])
        #expect(!(try Self.readable(b.readinessDescriptor)))
    }

    @Test func offloadMetadataTravelsWithTheFrame() throws {
        let (a, b) = try MemoryDevice.pair()
        let offload = FrameOffload(flags: .needsChecksum, checksumStart: 34, checksumOffset: 16)
        try ([1] as [UInt8]).withUnsafeBytes { try a.transmit($0, offload: offload) }
        var batch = FrameBatch(maxFrames: 4, maxFrameLength: 100)
        try b.receive(into: &batch)
        var seen: [FrameOffload] = []
        batch.forEachFrame { _, o in seen.append(o) }
        #expect(seen == [offload])
    }

    @Test func aFullQueueDropsAndCounts() throws {
        let (a, b) = try MemoryDevice.pair(queueLimit: 2)
        for _ in 0..<5 { try ([7] as [UInt8]).withUnsafeBytes { try a.transmit($0, offload: .none) } }
        #expect(a.drops == 3)
        #expect(try Self.receive(b).count == 2)
        // Too long for the link: dropped too.
        try [UInt8](repeating: 0, count: 1515).withUnsafeBytes { try a.transmit($0, offload: .none) }
        #expect(a.drops == 4)
    }

    /// Partly drained queues are compacted, so a byte limit holds however long the traffic runs.
    @Test func aLongRunWithinTheByteLimitNeverDrops() throws {
        let (a, b) = try MemoryDevice.pair(byteLimit: 4 * 1514)
        let frame = [UInt8](repeating: 0xEE, count: 1514)
        // Three frames always wait; each round takes two and adds two, so the arena fills up at
        // its end and must move the waiting frames to its start.
        for _ in 0..<3 { try frame.withUnsafeBytes { try a.transmit($0, offload: .none) } }
        var received = 0
        for _ in 0..<200 {
            received += try Self.receive(b, maxFrames: 2).count
            for _ in 0..<2 { try frame.withUnsafeBytes { try a.transmit($0, offload: .none) } }
        }
        received += try Self.receive(b, maxFrames: 1000).count
        #expect(a.drops == 0)
        #expect(received == 403)
    }

    /// Two threads at once: every frame arrives exactly once, in order.
    @Test func twoThreadsTransmitAndReceiveConcurrently() async throws {
        let (a, b) = try MemoryDevice.pair(queueLimit: 100_000, byteLimit: 64 * 1024 * 1024)
        let count = 20_000
        let producer = Task.detached {
            for i in 0..<count {
                try withUnsafeBytes(of: UInt32(i).littleEndian) { try a.transmit($0, offload: .none) }
            }
        }
        var next: UInt32 = 0
        var batch = FrameBatch(maxFrames: 64, maxFrameLength: 16)
        var poller = Poller(fds: [b.readinessDescriptor])
        var inOrder = true
        for _ in 0..<1_000_000 where Int(next) < count {
            _ = try poller.wait(timeout: 10_000_000)
            batch.removeAll()
            try b.receive(into: &batch)
            batch.forEachFrame { frame, _ in
                let v = frame.loadUnaligned(as: UInt32.self).littleEndian
                if v != next { inOrder = false }
                next = v + 1
            }
        }
        try await producer.value
        #expect(inOrder)
        #expect(Int(next) == count)
        #expect(a.drops == 0)
    }
}
