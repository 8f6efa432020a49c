/// The Internet checksum (RFC 1071): the 16-bit ones' complement of the ones' complement sum.
///
/// Sums are kept in a 64-bit accumulator fed with 32-bit loads (RFC 1071 §2 (B), "deferred
/// carries"), folded to 16 bits only at the end. Byte order: words are read big-endian, so the
/// result is in network order as a `UInt16` value ready to be stored big-endian.
public struct InternetChecksum: Sendable {
    /// The running (unfolded) sum.
    public var sum: UInt64 = 0

    /// An empty sum.
    @inlinable public init() {}

    /// Adds `bytes` as a sequence of big-endian 16-bit words; an odd final byte is padded with
    /// zero (RFC 1071 §4.1). Each call must start at an even offset of the checksummed data,
    /// except the last.
    @inlinable public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var acc = sum
        let n = bytes.count
        var i = 0
        if let base = bytes.baseAddress {
            // 32-bit big-endian loads; the accumulator cannot overflow for < 2^32 words.
            while i + 4 <= n {
                acc &+= UInt64(UInt32(bigEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
                i += 4
            }
            if i + 2 <= n {
                acc &+= UInt64(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: i, as: UInt16.self)))
                i += 2
            }
            if i < n {
                acc &+= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << 8
            }
        }
        sum = acc
    }

    /// Adds one 16-bit word.
    @inlinable public mutating func add(_ word: UInt16) { sum &+= UInt64(word) }
    /// Adds a 32-bit value as two 16-bit words.
    @inlinable public mutating func add(_ word: UInt32) { sum &+= UInt64(word) }

    /// Adds the TCP/UDP pseudo-header (RFC 768, RFC 9293 §3.1): source, destination, zero,
    /// protocol, and the transport length.
    @inlinable public mutating func addPseudoHeader(
        source: IPv4Address,
        destination: IPv4Address,
        protocol proto: UInt8,
        length: Int
    ) {
        sum &+=
            UInt64(source.rawValue) &+ UInt64(destination.rawValue) &+ UInt64(proto)
            &+ UInt64(UInt16(truncatingIfNeeded: length))
    }

    /// The folded ones' complement sum (not yet complemented).
    @inlinable public var folded: UInt16 {
        var s = sum
        s = (s & 0xFFFF_FFFF) &+ (s >> 32)
        s = (s & 0xFFFF_FFFF) &+ (s >> 32)
        s = (s & 0xFFFF) &+ (s >> 16)
        s = (s & 0xFFFF) &+ (s >> 16)
        return UInt16(truncatingIfNeeded: s)
    }

    /// The checksum to store: the complement of the folded sum.
    @inlinable public var value: UInt16 { ~folded }

    /// The checksum of `bytes` alone.
    @inlinable public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        var c = InternetChecksum()
        c.add(bytes)
        return c.value
    }

    /// True when data that includes its own checksum field verifies (its folded sum is 0xFFFF).
    @inlinable public static func verifies(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var c = InternetChecksum()
        c.add(bytes)
        return c.folded == 0xFFFF
    }
}
