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
}

extension Stack {
    /// Takes one fragment; returns the whole datagram (header and payload, as one IP packet with
    /// MF = 0 and offset 0) once every piece is in.
    mutating func reassemblyInput(_ ip: IPv4Header, packet: UnsafeRawBufferPointer, effects: inout Effects) -> [UInt8]?
    {
        let key = Reassembly.Key(
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
            return dropFragment(.ipFragmentBadLength, key: key)
        }
        // No datagram may exceed 65535 octets (the "ping of death").
        if ip.headerLength + end > 65535 { return dropFragment(.ipFragmentTooLarge, key: key) }
        if reassembly.datagrams[key] == nil {
            guard reassembly.datagrams.count < reassembly.maxDatagrams else {
                drop(.ipReassemblyMemoryFull)
                return nil
            }
            reassembly.datagrams[key] = Reassembly.Datagram(deadline: now.adding(nanoseconds: reassembly.timeout))
        }
        var d = reassembly.datagrams.removeValue(forKey: key)!
        reassembly.bytes -= d.data.capacity
        // The last fragment fixes the length; a conflicting end is an overlap.
        if !ip.moreFragments {
            if let t = d.total, t != end { return dropFragment(.ipFragmentOverlap, key: key) }
            if let last = d.ranges.last, last.upperBound > end { return dropFragment(.ipFragmentOverlap, key: key) }
            d.total = end
        } else if let t = d.total, end > t {
            return dropFragment(.ipFragmentOverlap, key: key)
        }
        // Find where the range goes; an exact duplicate is ignored, any other overlap kills the datagram.
        var index = d.ranges.count
        for (i, r) in d.ranges.enumerated() {
            if r == start..<end {
                reassembly.bytes += d.data.capacity
                reassembly.datagrams[key] = d
                drop(.ipFragmentDuplicate)
                return nil
            }
            if r.overlaps(start..<end) || (length == 0 && r.contains(start)) {
                return dropFragment(.ipFragmentOverlap, key: key)
            }
            if r.lowerBound >= end {
                index = i
                break
            }
        }
        guard d.ranges.count < reassembly.maxFragments else { return dropFragment(.ipReassemblyMemoryFull, key: key) }
        if d.data.count < end {
            let grow = end - d.data.count
            guard reassembly.bytes + d.data.capacity + grow <= reassembly.maxBytes else {
                return dropFragment(.ipReassemblyMemoryFull, key: key)
            }
            d.data.append(contentsOf: repeatElement(0, count: grow))
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
            return dropFragment(.ipFragmentTooLarge, key: key)
        }
        guard let total = d.total, d.received == total, let first = d.first else {
            reassembly.bytes += d.data.capacity
            reassembly.datagrams[key] = d
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
        context.count(.ipDatagramsReassembled)
        trace(.ipReassembled(identification: ip.identification, length: totalLength, fragments: d.ranges.count))
        return out
    }

    private mutating func dropFragment(_ reason: DropReason, key: Reassembly.Key) -> [UInt8]? {
        reassembly.remove(key)
        drop(reason)
        return nil
    }

    /// Gives up on datagrams whose time ran out; sends Time Exceeded (code 1) when the first
    /// fragment had arrived (RFC 792; RFC 1122 §3.3.2).
    mutating func reassemblyTimers(effects: inout Effects) {
        guard let d = reassembly.nextDeadline, d <= now else { return }
        for key in reassembly.datagrams.keys.sorted() {
            guard let dg = reassembly.datagrams[key], dg.deadline <= now else { continue }
            reassembly.remove(key)
            drop(.ipReassemblyTimeout)
            trace(.ipReassemblyTimedOut(identification: key.identification, source: key.source))
            if let first = dg.first {
                let offending = OffendingDatagram(
                    source: key.source,
                    destination: key.destination,
                    proto: key.proto,
                    fragmentOffset: 0,
                    headerLength: dg.firstHeaderLength
                )
                first.withUnsafeBytes { quote in
                    sendICMPError(
                        type: ICMPv4Type.timeExceeded,
                        code: ICMPv4TimeExceededCode.reassembly,
                        offending: offending,
                        quote: quote,
                        broadcast: false,
                        effects: &effects
                    )
                }
            }
        }
    }
}
