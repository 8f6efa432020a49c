import TCPIPCore

/// One end of an in-memory point-to-point link: a `NetworkDevice` whose frames go to its peer
/// (`MemoryDevice.pair()`), for two `Host`s in one process — tests, examples, benchmarks of the
/// stack without the kernel.
///
/// Each direction is a bounded queue behind a mutex plus an eventfd: `transmit` copies the
/// frames into the peer's queue under one lock per batch and signals the peer's eventfd when
/// the queue was empty; the peer's `receive` copies them out into its `FrameBatch`. The two
/// ends may be used by two threads at once (each host's owner thread). Frames carry their
/// `FrameOffload` unchanged, as between two virtio devices on one vhost switch; a full queue
/// drops the frame and counts it in `drops`, as a NIC drops on a full ring. The queue's arena
/// grows to its limit once and is reused, so a steady state allocates nothing.
///
/// ```swift
/// let (a, b) = try MemoryDevice.pair()
/// let hostA = try Host(configuration: configA, device: a)
/// let hostB = try Host(configuration: configB, device: b)
/// ```
public final class MemoryDevice: NetworkDevice {
    /// The device's name, for messages.
    public let name: String
    /// What both ends declare (by default: Ethernet, MTU 1500, no offloads).
    public let capabilities: DeviceCapabilities
    /// Frames sent to this device, waiting for `receive`.
    let inbox: Queue
    /// The peer's inbox.
    let outbox: Queue

    init(name: String, capabilities: DeviceCapabilities, inbox: Queue, outbox: Queue) {
        self.name = name
        self.capabilities = capabilities
        self.inbox = inbox
        self.outbox = outbox
    }

    /// Two devices joined to each other: what one transmits the other receives.
    ///
    /// - Parameters:
    ///   - names: the two devices' names.
    ///   - capabilities: what both declare; frames up to its `maxSegmentedFrameLength` (with
    ///     segmentation) or `maxFrameLength` pass, longer ones are dropped.
    ///   - queueLimit: the most frames waiting in one direction; more are dropped.
    ///   - byteLimit: the most bytes waiting in one direction; more are dropped.
    /// - Throws: when an eventfd cannot be created.
    public static func pair(
        names: (String, String) = ("mem0", "mem1"),
        capabilities: DeviceCapabilities = DeviceCapabilities(medium: .ethernet, mtu: 1500),
        queueLimit: Int = 1024,
        byteLimit: Int = 4 * 1024 * 1024
    ) throws(DriverError) -> (MemoryDevice, MemoryDevice) {
        let longest =
            capabilities.transmitSegmentation.isEmpty
            ? capabilities.maxFrameLength : max(capabilities.maxFrameLength, capabilities.maxSegmentedFrameLength)
        let first = try Queue(frameLimit: queueLimit, byteLimit: byteLimit, maxFrameLength: longest)
        let second = try Queue(frameLimit: queueLimit, byteLimit: byteLimit, maxFrameLength: longest)
        return (
            MemoryDevice(name: names.0, capabilities: capabilities, inbox: first, outbox: second),
            MemoryDevice(name: names.1, capabilities: capabilities, inbox: second, outbox: first)
        )
    }

    /// The eventfd the peer signals when it queues a frame to this device.
    public var readinessDescriptor: Int32 { inbox.signal.fd }

    /// Frames waiting for `receive`.
    public var pendingCount: Int { inbox.state.withLock { $0.records.count - $0.head } }

    /// Frames this device transmitted that its peer's full queue dropped.
    public var drops: Int { outbox.state.withLock { $0.drops } }

    /// Frames this device transmitted into its peer's queue.
    public var transmitted: Int { outbox.state.withLock { $0.enqueued } }

    /// Moves waiting frames into `batch`, as many as fit.
    @discardableResult
    public func receive(into batch: inout FrameBatch) throws(DriverError) -> Int {
        inbox.take(into: &batch)
    }

    /// Queues a copy of `frame` with `offload` to the peer.
    public func transmit(_ frame: UnsafeRawBufferPointer, offload: FrameOffload) throws(DriverError) {
        let wake = outbox.state.withLock { $0.push(frame, offload: offload) }
        if wake { outbox.signal.signal() }
    }

    /// Queues copies of every frame of `frames` to the peer, under one lock.
    @discardableResult
    public func transmit(_ frames: FrameQueue) throws(DriverError) -> Int {
        guard !frames.isEmpty else { return 0 }
        let wake = outbox.state.withLock { s in
            var wake = false
            frames.forEachFrame { _, frame in
                if s.push(frame, offload: .none) { wake = true }
            }
            return wake
        }
        if wake { outbox.signal.signal() }
        return frames.count
    }

    /// One direction of the link: frames waiting for the receiving end, and its eventfd.
    final class Queue: Sendable {
        let state: Locked<State>
        let signal: EventFD

        init(frameLimit: Int, byteLimit: Int, maxFrameLength: Int) throws(DriverError) {
            state = Locked(
                State(frameLimit: frameLimit, byteLimit: max(byteLimit, maxFrameLength), maxFrameLength: maxFrameLength)
            )
            signal = try EventFD()
        }

        /// Moves waiting frames into `batch`; re-signals when some are left for next time.
        func take(into batch: inout FrameBatch) -> Int {
            // Drain first, then take: a frame queued meanwhile signals again, so none is missed.
            signal.drain()
            let (taken, left) = state.withLock { s in s.pop(into: &batch) }
            if left { signal.signal() }
            return taken
        }
    }

    /// The frames of one direction, packed in one arena.
    struct State: Sendable {
        struct Record: Sendable {
            var start: Int
            var end: Int
            var offload: FrameOffload
        }

        let frameLimit: Int
        let byteLimit: Int
        let maxFrameLength: Int
        var bytes: [UInt8] = []
        var records: [Record] = []
        /// The first record not yet received.
        var head = 0
        var used = 0
        var drops = 0
        var enqueued = 0

        init(frameLimit: Int, byteLimit: Int, maxFrameLength: Int) {
            self.frameLimit = max(1, frameLimit)
            self.byteLimit = byteLimit
            self.maxFrameLength = maxFrameLength
        }

        /// Queues a copy of `frame`; returns true when the queue was empty (the receiver must be
        /// woken). A frame that does not fit is dropped.
        mutating func push(_ frame: UnsafeRawBufferPointer, offload: FrameOffload) -> Bool {
            let waiting = records.count - head
            guard waiting < frameLimit, frame.count <= maxFrameLength, makeRoom(frame.count) else {
                drops += 1
                return false
            }
            let at = used
            if frame.count > 0 {
                bytes.withUnsafeMutableBytes { dst in
                    (dst.baseAddress! + at).copyMemory(from: frame.baseAddress!, byteCount: frame.count)
                }
            }
            records.append(Record(start: at, end: at + frame.count, offload: offload))
            used = at + frame.count
            enqueued += 1
            return waiting == 0
        }

        /// Makes `count` bytes free at the end of the arena: compacts away received frames, then
        /// grows up to the byte limit. False when the waiting frames leave no room.
        mutating func makeRoom(_ count: Int) -> Bool {
            if used + count <= bytes.count { return true }
            if head > 0 {
                let from = records[head].start
                let length = used - from
                bytes.withUnsafeMutableBytes { b in
                    if length > 0 { b.baseAddress!.copyMemory(from: b.baseAddress! + from, byteCount: length) }
                }
                records.removeFirst(head)
                for i in records.indices {
                    records[i].start -= from
                    records[i].end -= from
                }
                head = 0
                used = length
                if used + count <= bytes.count { return true }
            }
            guard used + count <= byteLimit else { return false }
            var size = max(bytes.count, 64 * 1024)
            while size < used + count { size *= 2 }
            bytes.append(contentsOf: repeatElement(0, count: min(size, byteLimit) - bytes.count))
            return true
        }

        /// Moves waiting frames into `batch`; returns how many, and whether some are left.
        mutating func pop(into batch: inout FrameBatch) -> (Int, Bool) {
            let end = records.count
            var next = head
            bytes.withUnsafeBytes { b in
                records.withUnsafeBufferPointer { waiting in
                    while next < end, batch.hasRoom {
                        let r = waiting[next]
                        batch.append(copying: UnsafeRawBufferPointer(rebasing: b[r.start..<r.end]), offload: r.offload)
                        next += 1
                    }
                }
            }
            let taken = next - head
            head = next
            if head == end {
                records.removeAll(keepingCapacity: true)
                head = 0
                used = 0
                return (taken, false)
            }
            return (taken, true)
        }
    }
}
