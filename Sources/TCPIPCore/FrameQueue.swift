/// Frames the stack wants transmitted, built in place in one reusable byte arena.
///
/// A frame is built back to front: `begin(headroom:)` reserves room for the headers, the
/// transport layer appends its payload and writes its header in front of it, and each lower
/// layer prepends its own header in the reserved room — no copy between layers. `commit` makes
/// the frame visible to the driver; the driver walks the committed frames and calls
/// `removeAll()`, which keeps the arena's capacity, so a steady state allocates nothing.
public struct FrameQueue: Sendable {
    /// One committed frame: which interface it leaves by and where its bytes are.
    public struct Record: Sendable {
        /// The interface index.
        public var interface: Int
        /// The frame's first byte in the arena.
        public var start: Int
        /// One past the frame's last byte.
        public var end: Int
    }

    @usableFromInline var storage: [UInt8]
    @usableFromInline var used = 0
    /// The committed frames, in order.
    public internal(set) var records: [Record] = []
    @usableFromInline var head = 0
    @usableFromInline var tail = 0
    @usableFromInline var building = false

    /// An empty queue with `capacity` bytes of arena.
    public init(capacity: Int = 256 * 1024) {
        storage = Array(repeating: 0, count: max(capacity, 4096))
        records.reserveCapacity(64)
    }

    /// The number of committed frames.
    public var count: Int { records.count }
    /// True when no frame is committed.
    public var isEmpty: Bool { records.isEmpty }

    /// Starts a frame with `headroom` bytes reserved in front of it for headers. A frame still
    /// being built is discarded.
    @inlinable public mutating func begin(headroom: Int) {
        building = true
        ensure(used + headroom)
        head = used + headroom
        tail = head
    }

    @usableFromInline mutating func ensure(_ bytes: Int) {
        if bytes > storage.count {
            var n = storage.count
            while n < bytes { n *= 2 }
            storage.append(contentsOf: repeatElement(0, count: n - storage.count))
        }
    }

    /// The length of the frame being built.
    @inlinable public var length: Int { tail - head }

    /// Appends `bytes` to the frame being built.
    @inlinable public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        precondition(building)
        ensure(tail + bytes.count)
        let at = tail
        storage.withUnsafeMutableBytes { dst in
            if let b = bytes.baseAddress, bytes.count > 0 {
                (dst.baseAddress! + at).copyMemory(from: b, byteCount: bytes.count)
            }
        }
        tail += bytes.count
    }

    /// Appends `count` zero bytes to the frame being built and returns their offset in the frame.
    @inlinable @discardableResult public mutating func appendZeros(_ count: Int) -> Int {
        precondition(building)
        ensure(tail + count)
        let at = tail - head
        let t = tail
        storage.withUnsafeMutableBytes { dst in
            _ = (dst.baseAddress! + t).initializeMemory(as: UInt8.self, repeating: 0, count: count)
        }
        tail += count
        return at
    }

    /// Makes room for a `count`-byte header in front of the frame being built; returns false
    /// (and changes nothing) when the reserved headroom is too small.
    @inlinable public mutating func prepend(_ count: Int) -> Bool {
        precondition(building)
        guard head - count >= used else { return false }
        head -= count
        return true
    }

    /// Gives `body` the frame being built, from its current first byte to its last.
    @inlinable public mutating func withFrame<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        precondition(building)
        let (h, t) = (head, tail)
        return try storage.withUnsafeMutableBytes { buf in
            try body(UnsafeMutableRawBufferPointer(rebasing: buf[h..<t]))
        }
    }

    /// Drops the first `count` bytes of the frame being built (used to strip a header again).
    @inlinable public mutating func removeFirst(_ count: Int) {
        precondition(building && count <= tail - head)
        head += count
    }

    /// Copies the frame being built out (for queues that must outlive this arena).
    public mutating func copyFrame() -> [UInt8] {
        withFrame { Array(UnsafeRawBufferPointer($0)) }
    }

    /// Commits the frame being built for transmission on `interface`.
    public mutating func commit(interface: Int) {
        precondition(building)
        records.append(Record(interface: interface, start: head, end: tail))
        used = tail
        building = false
    }

    /// Discards the frame being built.
    @inlinable public mutating func abort() { building = false }

    /// True while a frame is being built.
    @inlinable public var isBuilding: Bool { building }

    /// Calls `body` with each committed frame in order.
    @inlinable public func forEachFrame(
        _ body: (_ interface: Int, _ frame: UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        try storage.withUnsafeBytes { buf in
            for r in records {
                try body(r.interface, UnsafeRawBufferPointer(rebasing: buf[r.start..<r.end]))
            }
        }
    }

    /// Forgets every committed frame, keeping the arena for reuse.
    public mutating func removeAll() {
        records.removeAll(keepingCapacity: true)
        used = 0
        building = false
    }
}
