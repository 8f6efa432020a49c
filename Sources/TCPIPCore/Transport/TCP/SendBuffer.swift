/// The send side's byte store (RFC 9293 §3.3.1, the send sequence space): the octets from
/// SND.UNA onwards — first those sent but not yet acknowledged (SND.UNA ..< SND.NXT), then those
/// queued but not yet sent. Offset 0 is always SND.UNA.
///
/// A ring over one contiguous array allocated at the first append and reallocated only when
/// `setCapacity` grows it; appends, removals and copies are at most two `memcpy`s and never
/// allocate. Arguments out of range are clamped rather than trapping.
struct SendBuffer {
    /// The most bytes the buffer will hold (the socket's SO_SNDBUF).
    private(set) var capacity: Int
    /// The ring; empty until the first append. Its size is the ring's modulus, ≥ capacity.
    private var storage: [UInt8] = []
    /// The ring index of offset 0 (SND.UNA).
    private var head = 0
    /// Bytes held.
    private(set) var count = 0

    /// Capacities are bounded to 1 GiB, the largest window TCP can advertise (RFC 7323 §2.3).
    static let maxCapacity = 1 << 30

    init(capacity: Int) {
        self.capacity = Swift.min(Swift.max(capacity, 0), Self.maxCapacity)
    }

    /// Room for more bytes.
    var freeSpace: Int { capacity - count }

    /// Changes the capacity; never below `count` (held bytes are never dropped). Growing past the
    /// allocated ring reallocates it once, moving the held bytes to its start.
    mutating func setCapacity(_ n: Int) {
        let newCapacity = Swift.min(Swift.max(n, count, 0), Swift.max(Self.maxCapacity, count))
        if newCapacity > storage.count && !storage.isEmpty {
            if count == 0 {
                storage = []  // reallocated lazily at the next append
                head = 0
            } else {
                var grown = [UInt8](repeating: 0, count: newCapacity)
                let held = count
                _ = grown.withUnsafeMutableBytes { copy(from: 0, count: held, into: $0) }
                storage = grown
                head = 0
            }
        }
        capacity = newCapacity
    }

    /// Copies as many of `bytes` as fit at the end; returns how many.
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let n = Swift.min(bytes.count, freeSpace)
        guard n > 0, let src = bytes.baseAddress else { return 0 }
        if storage.isEmpty { storage = [UInt8](repeating: 0, count: capacity) }
        let size = storage.count
        var tail = head + count
        if tail >= size { tail -= size }
        let first = Swift.min(n, size - tail)
        storage.withUnsafeMutableBytes { ring in
            let base = ring.baseAddress!
            (base + tail).copyMemory(from: src, byteCount: first)
            if first < n { base.copyMemory(from: src + first, byteCount: n - first) }
        }
        count += n
        return n
    }

    /// Drops the first `n` bytes (acknowledged: SND.UNA advances by `n`, RFC 9293 §3.10.7.4).
    /// `n` is clamped to 0 ... count.
    mutating func removeFirst(_ n: Int) {
        let n = Swift.min(Swift.max(n, 0), count)
        count -= n
        if count == 0 {
            head = 0
        } else {
            head += n
            if head >= storage.count { head -= storage.count }
        }
    }

    /// Removes everything (e.g. on abort).
    mutating func removeAll() {
        count = 0
        head = 0
    }

    /// Copies `count` bytes starting `offset` bytes after SND.UNA into `dst` (at most two
    /// `memcpy`s across the wrap). Requires `offset + count ≤ self.count` and
    /// `count ≤ dst.count`; otherwise copies only what is available. Returns the bytes copied.
    @discardableResult
    func copy(from offset: Int, count: Int, into dst: UnsafeMutableRawBufferPointer) -> Int {
        guard offset >= 0, offset < self.count, let out = dst.baseAddress else { return 0 }
        let n = Swift.min(count, self.count - offset, dst.count)
        guard n > 0 else { return 0 }
        let size = storage.count
        var start = head + offset
        if start >= size { start -= size }
        let first = Swift.min(n, size - start)
        storage.withUnsafeBytes { ring in
            let base = ring.baseAddress!
            out.copyMemory(from: base + start, byteCount: first)
            if first < n { (out + first).copyMemory(from: base, byteCount: n - first) }
        }
        return n
    }
}
