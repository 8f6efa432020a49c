import TCPIPCore

/// A caller-owned batch of received frames, each with its `FrameOffload` metadata, in one
/// reusable byte arena: a device's `receive(into:)` fills it with up to `maxFrames` frames,
/// the caller walks them with `forEachFrame` and empties it with `removeAll()`, which keeps
/// the arena, so a steady state allocates nothing per frame or per batch.
///
/// Frames are packed back to back; a device writes each straight into the arena's free space
/// (`append(offload:_:)`), which always offers at least `maxFrameLength` bytes while the batch
/// `hasRoom`. Owned by one thread.
public struct FrameBatch: Sendable {
    /// One frame of the batch: where its bytes are and its metadata.
    struct Record: Sendable {
        var start: Int
        var end: Int
        var offload: FrameOffload
    }

    /// The most frames one batch holds.
    public let maxFrames: Int
    /// The longest frame the batch takes whole; a device truncates longer ones to this.
    public let maxFrameLength: Int
    private var storage: [UInt8]
    private var records: [Record] = []
    private var used = 0

    /// An empty batch of up to `maxFrames` frames (at least 1) of up to `maxFrameLength` bytes
    /// each, with an arena of `byteCapacity` bytes (at least `maxFrameLength`; by default room
    /// for `maxFrames` Ethernet frames of 1514 bytes beyond the first full-length one).
    public init(maxFrames: Int = 64, maxFrameLength: Int = 65536 + 64, byteCapacity: Int? = nil) {
        precondition(maxFrameLength > 0, "a frame batch needs room for a frame")
        self.maxFrames = max(1, maxFrames)
        self.maxFrameLength = maxFrameLength
        let bytes = max(maxFrameLength, byteCapacity ?? (maxFrameLength + self.maxFrames * 1514))
        storage = [UInt8](repeating: 0, count: bytes)
        records.reserveCapacity(self.maxFrames)
    }

    /// The number of frames in the batch.
    public var count: Int { records.count }
    /// True when the batch holds no frame.
    public var isEmpty: Bool { records.isEmpty }
    /// True while another frame of up to `maxFrameLength` bytes fits; a device stops filling
    /// the batch when it turns false.
    public var hasRoom: Bool { records.count < maxFrames && storage.count - used >= maxFrameLength }

    /// Appends one frame that `fill` writes into the arena's free space (`maxFrameLength`
    /// bytes) and measures: it returns the frame's length, or nil when there is no frame (the
    /// device is drained), which appends nothing. Returns whether a frame was appended.
    /// Requires `hasRoom`. A length above `maxFrameLength` is cut to it.
    @discardableResult
    public mutating func append<E: Error>(
        offload: FrameOffload = .none,
        _ fill: (UnsafeMutableRawBufferPointer) throws(E) -> Int?
    ) throws(E) -> Bool {
        precondition(hasRoom, "the frame batch is full")
        let start = used
        let room = maxFrameLength
        let result: Result<Int?, E> = storage.withUnsafeMutableBytes { buf in
            let free = UnsafeMutableRawBufferPointer(rebasing: buf[start..<(start + room)])
            do throws(E) {
                return .success(try fill(free))
            } catch {
                return .failure(error)
            }
        }
        guard let length = try result.get() else { return false }
        let n = min(max(0, length), room)
        records.append(Record(start: start, end: start + n, offload: offload))
        used = start + n
        return true
    }

    /// Appends a copy of `frame` (cut to `maxFrameLength` bytes). Requires `hasRoom`.
    public mutating func append(copying frame: UnsafeRawBufferPointer, offload: FrameOffload = .none) {
        append(offload: offload) { (free) -> Int? in
            let n = min(frame.count, free.count)
            if n > 0 { free.baseAddress!.copyMemory(from: frame.baseAddress!, byteCount: n) }
            return n
        }
    }

    /// Changes the metadata of the last frame appended (a device that learns it after the
    /// bytes, e.g. from a trailer).
    public mutating func setLastOffload(_ offload: FrameOffload) {
        precondition(!records.isEmpty, "the frame batch is empty")
        records[records.count - 1].offload = offload
    }

    /// Calls `body` with each frame in order and its metadata; the bytes are valid only during
    /// the call.
    public func forEachFrame(_ body: (_ frame: UnsafeRawBufferPointer, _ offload: FrameOffload) -> Void) {
        storage.withUnsafeBytes { buf in
            for r in records {
                body(UnsafeRawBufferPointer(rebasing: buf[r.start..<r.end]), r.offload)
            }
        }
    }

    /// Forgets every frame, keeping the arena for the next batch.
    public mutating func removeAll() {
        records.removeAll(keepingCapacity: true)
        used = 0
    }
}
