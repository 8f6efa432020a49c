/// IPv4 reassembly state (RFC 791 §3.2 "Reassembly", RFC 1122 §3.3.2), bounded in bytes,
/// datagrams and fragments. Overlapping fragments discard the whole datagram (the policy of
/// RFC 5722, which IPv6 mandates and which defeats overlap attacks); an exact duplicate of a
/// fragment already held is ignored.
struct Reassembly {
    struct Key: Hashable, Comparable {
        var source: IPv4Address
        var destination: IPv4Address
        var proto: UInt8
        var identification: UInt16
        static func < (a: Key, b: Key) -> Bool {
            (a.source, a.destination, a.proto, a.identification) < (b.source, b.destination, b.proto, b.identification)
        }
    }

    struct Datagram {
        /// Payload bytes at their offsets.
        var data: [UInt8] = []
        /// Received fragment ranges, disjoint and sorted.
        var ranges: [Range<Int>] = []
        /// Payload length, known once the last fragment (MF = 0) arrived.
        var total: Int?
        /// The first fragment's header and first 8 payload bytes, as received.
        var first: [UInt8]?
        var firstHeaderLength = 0
        var received = 0
        var deadline: Instant
    }

    var datagrams: [Key: Datagram] = [:]
    var bytes = 0
    let timeout: Int64
    let maxBytes: Int
    let maxDatagrams: Int
    let maxFragments: Int

    init(configuration c: StackConfiguration) {
        timeout = c.reassemblyTimeout
        maxBytes = c.reassemblyMaxBytes
        maxDatagrams = max(1, c.reassemblyMaxDatagrams)
        maxFragments = max(2, c.reassemblyMaxFragments)
    }

    var nextDeadline: Instant? {
        var d: Instant?
        for v in datagrams.values where d == nil || v.deadline < d! { d = v.deadline }
        return d
    }

    mutating func remove(_ key: Key) {
        if let d = datagrams.removeValue(forKey: key) { bytes -= d.data.capacity }
    }

    /// Takes one fragment; returns the whole datagram (header and payload, as one IP packet with
    /// MF = 0 and offset 0) once every piece is in.
    mutating func input(_ ip: IPv4Header, packet: UnsafeRawBufferPointer, ctx: inout LayerContext) -> [UInt8]? {
        let key = Key(
            source: ip.source,
            destination: ip.destination,
            proto: ip.protocol,
            identification: ip.identification
        )
        let length = ip.totalLength - ip.headerLength
        let start = ip.fragmentOffset
        let end = start + length
        // RFC 791 §3.1: every fragment but the last carries a multiple of 8 octets (and some).
        if ip.moreFragments && (length == 0 || length % 8 != 0) {
            return dropFragment(.ipFragmentBadLength, key: key, ctx: &ctx)
        }
        // No datagram may exceed 65535 octets (the "ping of death").
        if ip.headerLength + end > 65535 { return dropFragment(.ipFragmentTooLarge, key: key, ctx: &ctx) }
        if datagrams[key] == nil {
            // Full: the oldest incomplete datagram goes, never the newest (a flood of junk
            // fragments may cost old junk, not the next legitimate datagram).
            while datagrams.count >= maxDatagrams, evictOldest(ctx: &ctx) {}
            datagrams[key] = Datagram(deadline: ctx.now.adding(nanoseconds: timeout))
        }
        var d = datagrams.removeValue(forKey: key)!
        bytes -= d.data.capacity
        // The last fragment fixes the length; a conflicting end is an overlap.
        let knownEnd = d.total
        if !ip.moreFragments {
            if let t = d.total, t != end { return dropFragment(.ipFragmentOverlap, key: key, ctx: &ctx) }
            if let last = d.ranges.last, last.upperBound > end {
                return dropFragment(.ipFragmentOverlap, key: key, ctx: &ctx)
            }
            d.total = end
        } else if let t = d.total, end > t {
            return dropFragment(.ipFragmentOverlap, key: key, ctx: &ctx)
        }
        // Find where the range goes; an exact duplicate is ignored, any other overlap kills the
        // datagram. A copy of a range that disagrees on being the last (MF) is not an exact
        // duplicate (RFC 8200 §4.5's term; RFC 5722 discards such datagrams).
        var index = d.ranges.count
        for (i, r) in d.ranges.enumerated() {
            if r == start..<end && (knownEnd == end) == !ip.moreFragments {
                bytes += d.data.capacity
                datagrams[key] = d
                ctx.drop(.ipFragmentDuplicate)
                return nil
            }
            if r.overlaps(start..<end) || (length == 0 && r.contains(start)) {
                return dropFragment(.ipFragmentOverlap, key: key, ctx: &ctx)
            }
            if r.lowerBound >= end {
                index = i
                break
            }
        }
        guard d.ranges.count < maxFragments else { return dropFragment(.ipReassemblyMemoryFull, key: key, ctx: &ctx) }
        if d.data.count < end {
            let grow = end - d.data.count
            if bytes + d.data.capacity + grow > maxBytes {
                // Past the high threshold the oldest others go until the table is below the
                // low one, three quarters of it (Linux's ipfrag_high_thresh / low_thresh).
                let low = maxBytes / 4 * 3
                while bytes + d.data.capacity + grow > low, evictOldest(ctx: &ctx) {}
            }
            guard bytes + d.data.capacity + grow <= maxBytes else {
                return dropFragment(.ipReassemblyMemoryFull, key: key, ctx: &ctx)
            }
            d.data.append(contentsOf: repeatElement(0, count: grow))
            // The array may allocate more than it was asked for; the bound counts what it holds.
            guard bytes + d.data.capacity <= maxBytes else {
                return dropFragment(.ipReassemblyMemoryFull, key: key, ctx: &ctx)
            }
        }
        if length > 0 {
            d.data.withUnsafeMutableBytes { dst in
                UnsafeMutableRawBufferPointer(rebasing: dst[start..<end])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[ip.headerLength..<ip.totalLength]))
            }
        }
        d.ranges.insert(start..<end, at: index)
        d.received += length
        if start == 0 {
            d.first = Array(packet[0..<min(ip.totalLength, ip.headerLength + 8)])
            d.firstHeaderLength = ip.headerLength
        }
        // RFC 791 §3.1: the total length is 16 bits, so the first fragment's header (which may
        // carry options, unlike the others) plus all the data must fit in 65535 octets.
        if let total = d.total, d.first != nil, d.firstHeaderLength + total > 65535 {
            return dropFragment(.ipFragmentTooLarge, key: key, ctx: &ctx)
        }
        guard let total = d.total, d.received == total, let first = d.first else {
            bytes += d.data.capacity
            datagrams[key] = d
            return nil
        }
        // Complete: the first fragment's header, made whole, then the payload.
        var out = Array(first[0..<d.firstHeaderLength])
        out.append(contentsOf: d.data[0..<total])
        let totalLength = d.firstHeaderLength + total
        out.withUnsafeMutableBytes { b in
            b.setBE16(2, UInt16(totalLength))
            b.setBE16(6, b.be16(6) & 0x4000)  // keep DF, clear MF and the offset
            b.setBE16(10, 0)
            b.setBE16(10, InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: b[0..<d.firstHeaderLength])))
        }
        ctx.count(.ipDatagramsReassembled)
        ctx.trace(.ipReassembled(identification: ip.identification, length: totalLength, fragments: d.ranges.count))
        return out
    }

    private mutating func dropFragment(_ reason: DropReason, key: Key, ctx: inout LayerContext) -> [UInt8]? {
        remove(key)
        ctx.drop(reason)
        return nil
    }

    /// Takes out the datagram whose time ran out first (by key, for a deterministic order), if any.
    mutating func popExpired(now: Instant) -> (key: Key, datagram: Datagram)? {
        guard let d = nextDeadline, d <= now else { return nil }
        guard let key = datagrams.filter({ $0.value.deadline <= now }).keys.min() else { return nil }
        let dg = datagrams[key]!
        remove(key)
        return (key, dg)
    }

    /// Evicts the incomplete datagram that arrived first (the earliest deadline; by key among
    /// equals, so a run replays exactly). RFC 1122 §3.3.2 leaves the policy to the host;
    /// Linux's inet_frag evictor also takes the oldest. No Time Exceeded is sent for it: it did
    /// not time out. False when nothing is left to evict.
    private mutating func evictOldest(ctx: inout LayerContext) -> Bool {
        guard let (key, _) = datagrams.min(by: { ($0.value.deadline, $0.key) < ($1.value.deadline, $1.key) }) else {
            return false
        }
        remove(key)
        ctx.count(.ipReassemblyEvictions)
        ctx.trace(.ipReassemblyEvicted(identification: key.identification, source: key.source))
        return true
    }
}
