/// The receive side's byte store (RFC 9293 §3.3.1, the receive sequence space).
///
/// One ring of `capacity` bytes holds, from the application's read position on:
/// (a) the in-order bytes not yet read (`readable`, ending at RCV.NXT), then
/// (b) out-of-order data beyond RCV.NXT, each byte at its own offset, tracked as disjoint,
///     sorted, non-adjacent ranges — RFC 9293 §3.10.7.4 "segments with higher beginning sequence
///     numbers … SHOULD be held for later processing" — at most `maxRanges` of them
///     (bounded, so a peer cannot make per-segment work grow).
///
/// The receive window offered is the room left after (a): RCV.WND = capacity − readable
/// (RFC 9293 §3.8.6.2.2 leaves out-of-order bytes inside the window they were sent into).
/// The ring is `slack` bytes longer than `capacity`: a right edge told never moves left, so
/// a scaled window field rounded up (RFC 7323 §2.4) can promise a few bytes beyond the
/// buffer, and those bytes must still be taken, not dropped (`storable`).
///
/// Positions are kept as absolute 64-bit stream offsets, so advancing RCV.NXT moves nothing;
/// the public API speaks offsets relative to RCV.NXT. Writes, reads and discards never allocate
/// (the range table's storage is reserved up front) and copy with at most two `memcpy`s.
/// Arguments out of range are clamped rather than trapping.
struct ReceiveBuffer {
    /// A held out-of-order range, in absolute stream offsets.
    private struct Span {
        var start: UInt64
        var end: UInt64
    }

    /// The most bytes held, in order plus out of order (the socket's SO_RCVBUF).
    private(set) var capacity: Int
    /// The most out-of-order ranges held at once.
    let maxRanges: Int
    /// The ring; empty until the first write. Its size is the ring's modulus, ≥ capacity + slack.
    private var storage: [UInt8] = []
    /// The ring index of stream offset `readOffset`.
    private var head = 0
    /// Stream offset of the first unread byte.
    private var readOffset: UInt64 = 0
    /// Stream offset of RCV.NXT (the first byte not yet received in order).
    private var nextOffset: UInt64 = 0
    /// Out-of-order ranges, sorted, disjoint, non-adjacent, each starting after `nextOffset`.
    private var spans: [Span] = []
    /// Stream offset of the first byte of the latest out-of-order write (RFC 2018 §4).
    private var latestWrite: UInt64?

    /// Capacities are bounded to 1 GiB, the largest window TCP can advertise (RFC 7323 §2.3).
    static let maxCapacity = 1 << 30
    /// Bound on `maxRanges`.
    static let maxRangesLimit = 1024

    init(capacity: Int, maxRanges: Int = 32) {
        self.capacity = Swift.min(Swift.max(capacity, 0), Self.maxCapacity)
        self.maxRanges = Swift.min(Swift.max(maxRanges, 0), Self.maxRangesLimit)
        spans.reserveCapacity(self.maxRanges + 1)
    }

    /// In-order bytes the application has not read yet.
    var readable: Int { Int(truncatingIfNeeded: nextOffset &- readOffset) }

    /// Room from RCV.NXT on: the receive window, RCV.WND (RFC 9293 §3.3.1).
    var window: Int { capacity - readable }

    /// Bytes the ring holds beyond `capacity`, for a window edge told beyond it by rounding.
    var slack: Int { Self.slack(for: capacity) }

    /// The slack of a buffer of `capacity` bytes: a sixteenth of it.
    static func slack(for capacity: Int) -> Int { capacity >> 4 }

    /// The most bytes from RCV.NXT on that can be stored: the window plus the slack. A right
    /// edge told never lies beyond RCV.NXT + storable.
    var storable: Int { capacity + slack - readable }

    /// Whether out-of-order data is held (RCV.NXT has a hole after it).
    var hasOutOfOrder: Bool { !spans.isEmpty }

    /// Out-of-order bytes held.
    var outOfOrderBytes: Int {
        var n = 0
        for s in spans { n += Int(truncatingIfNeeded: s.end &- s.start) }
        return n
    }

    /// The end of everything held, as a stream offset.
    private var heldEnd: UInt64 { spans.last?.end ?? nextOffset }

    /// Changes the capacity. While any data is held (read or out of order) it only grows, so no
    /// held byte ever falls outside the buffer; when empty it may shrink. Growing past the
    /// allocated ring reallocates it once.
    mutating func setCapacity(_ n: Int) {
        let requested = Swift.min(Swift.max(n, 0), Self.maxCapacity)
        let holding = readable > 0 || !spans.isEmpty
        let newCapacity = holding ? Swift.max(requested, capacity) : requested
        let ringSize = newCapacity + Self.slack(for: newCapacity)
        if ringSize > storage.count && !storage.isEmpty {
            if holding {
                // Move everything from the read position up to the end of the last held range
                // (holes included) to the start of a larger ring.
                var grown = [UInt8](repeating: 0, count: ringSize)
                let extent = Int(truncatingIfNeeded: heldEnd &- readOffset)
                grown.withUnsafeMutableBytes { copyOut(at: 0, count: extent, into: $0.baseAddress!) }
                storage = grown
            } else {
                storage = []  // reallocated lazily at the next write
            }
            head = 0
        }
        capacity = newCapacity
    }

    /// The ring index of the byte `distance` bytes after the read position (distance ≤ size).
    @inline(__always) private func ringIndex(_ distance: Int) -> Int {
        let i = head + distance
        return i >= storage.count ? i - storage.count : i
    }

    /// Copies `count` bytes from `src` into the ring `distance` bytes after the read position.
    private mutating func copyIn(at distance: Int, _ src: UnsafeRawPointer, count n: Int) {
        let start = ringIndex(distance)
        let first = Swift.min(n, storage.count - start)
        storage.withUnsafeMutableBytes { ring in
            let base = ring.baseAddress!
            (base + start).copyMemory(from: src, byteCount: first)
            if first < n { base.copyMemory(from: src + first, byteCount: n - first) }
        }
    }

    /// Copies `count` bytes from the ring, `distance` bytes after the read position, to `dst`.
    private func copyOut(at distance: Int, count n: Int, into dst: UnsafeMutableRawPointer) {
        guard n > 0 else { return }
        let start = ringIndex(distance)
        let first = Swift.min(n, storage.count - start)
        storage.withUnsafeBytes { ring in
            let base = ring.baseAddress!
            dst.copyMemory(from: base + start, byteCount: first)
            if first < n { (dst + first).copyMemory(from: base, byteCount: n - first) }
        }
    }

    /// Stores a segment's data that begins `offset` bytes after RCV.NXT (RFC 9293 §3.10.7.4,
    /// "seventh, process the segment text").
    ///
    /// The caller has trimmed the data to the window told (`offset + bytes.count ≤ storable`,
    /// RFC 9293 §3.10.7.4 "first check sequence number"); anything beyond is ignored here. Bytes already
    /// held are written again harmlessly and count once.
    ///
    /// - Returns: how many bytes became newly contiguous — RCV.NXT advances by it. A write at
    ///   offset 0 returns its own length plus every held range it joins up with; an out-of-order
    ///   write returns 0. Returns nil, storing nothing, if keeping the data would need more than
    ///   `maxRanges` ranges (the caller drops the segment, as if lost).
    mutating func write(at offset: Int, _ bytes: UnsafeRawBufferPointer) -> Int? {
        let room = storable
        guard offset >= 0, offset < room, let src = bytes.baseAddress else { return 0 }
        let n = Swift.min(bytes.count, room - offset)
        guard n > 0 else { return 0 }
        if storage.isEmpty { storage = [UInt8](repeating: 0, count: capacity + slack) }
        let start = nextOffset &+ UInt64(offset)
        let end = start &+ UInt64(n)

        if offset == 0 {
            // In order: RCV.NXT advances over this data and every held range it now reaches.
            copyIn(at: readable, src, count: n)
            var contiguousEnd = end
            var absorbed = 0
            while absorbed < spans.count && spans[absorbed].start <= contiguousEnd {
                contiguousEnd = Swift.max(contiguousEnd, spans[absorbed].end)
                absorbed += 1
            }
            if absorbed > 0 { spans.removeFirst(absorbed) }
            let advanced = Int(truncatingIfNeeded: contiguousEnd &- nextOffset)
            nextOffset = contiguousEnd
            return advanced
        }

        // Out of order: merge [start, end) with every range it overlaps or touches.
        var i = 0
        while i < spans.count && spans[i].end < start { i += 1 }
        var j = i
        while j < spans.count && spans[j].start <= end { j += 1 }
        let merged = j - i
        guard spans.count - merged + 1 <= maxRanges else { return nil }
        copyIn(at: readable + offset, src, count: n)
        if merged == 0 {
            spans.insert(Span(start: start, end: end), at: i)
        } else {
            spans[i] = Span(start: Swift.min(start, spans[i].start), end: Swift.max(end, spans[j - 1].end))
            if merged > 1 { spans.removeSubrange((i + 1)..<j) }
        }
        latestWrite = start
        return 0
    }

    /// Consumes up to `dst.count` in-order bytes into `dst`; returns how many.
    mutating func read(into dst: UnsafeMutableRawBufferPointer) -> Int {
        let n = peek(into: dst)
        discard(n)
        return n
    }

    /// Copies up to `dst.count` in-order bytes into `dst` without consuming them (MSG_PEEK).
    func peek(into dst: UnsafeMutableRawBufferPointer) -> Int {
        guard let out = dst.baseAddress else { return 0 }
        let n = Swift.min(dst.count, readable)
        copyOut(at: 0, count: n, into: out)
        return n
    }

    /// Consumes `n` in-order bytes without copying them (clamped to 0 ... readable).
    mutating func discard(_ n: Int) {
        let n = Swift.min(Swift.max(n, 0), readable)
        guard n > 0 else { return }
        readOffset &+= UInt64(n)
        head = ringIndex(n)
        if readOffset == nextOffset && spans.isEmpty { head = 0 }
    }

    /// Drops all out-of-order data (reneging, which RFC 2018 §8 permits but discourages).
    mutating func discardOutOfOrder() {
        spans.removeAll(keepingCapacity: true)
        latestWrite = nil
    }

    /// The held out-of-order ranges relative to RCV.NXT, sorted. Allocates; for SACK generation.
    var outOfOrderRanges: [Range<Int>] {
        var result: [Range<Int>] = []
        result.reserveCapacity(spans.count)
        forEachOutOfOrderRange { result.append($0) }
        return result
    }

    /// Calls `body` with each held out-of-order range relative to RCV.NXT, in order; no allocation.
    func forEachOutOfOrderRange(_ body: (Range<Int>) -> Void) {
        for s in spans { body(relative(s)) }
    }

    /// The held range (relative to RCV.NXT, after merging) containing the latest out-of-order
    /// write: RFC 2018 §4, "The first SACK block … MUST specify the contiguous block of data
    /// containing the segment which triggered this ACK". Nil once that data is in order.
    var mostRecentRange: Range<Int>? {
        guard let w = latestWrite else { return nil }
        for s in spans where s.start <= w && w < s.end { return relative(s) }
        return nil
    }

    private func relative(_ s: Span) -> Range<Int> {
        Int(truncatingIfNeeded: s.start &- nextOffset)..<Int(truncatingIfNeeded: s.end &- nextOffset)
    }
}
