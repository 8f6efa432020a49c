/// A 48-bit IEEE 802 MAC address, held in the low 48 bits of a `UInt64`.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address as an integer: the first octet on the wire is bits 47…40.
    public var rawValue: UInt64

    /// Creates an address from its integer form (only the low 48 bits are kept).
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

    /// Creates an address from six octets in wire order.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8, _ f: UInt8) {
        rawValue = UInt64(a) << 40 | UInt64(b) << 32 | UInt64(c) << 24 | UInt64(d) << 16 | UInt64(e) << 8 | UInt64(f)
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-`); nil if malformed.
    public init?(_ text: String) {
        let parts = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 6 else { return nil }
        var v: UInt64 = 0
        for p in parts {
            guard p.count == 2, let o = UInt8(p, radix: 16) else { return nil }
            v = v << 8 | UInt64(o)
        }
        rawValue = v
    }

    /// ff:ff:ff:ff:ff:ff.
    public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)
    /// 00:00:00:00:00:00.
    public static let zero = MACAddress(rawValue: 0)

    /// True for group addresses (the I/G bit of the first octet), broadcast included.
    @inlinable public var isMulticast: Bool { (rawValue >> 40) & 1 == 1 }
    /// True for ff:ff:ff:ff:ff:ff.
    @inlinable public var isBroadcast: Bool { rawValue == 0xFFFF_FFFF_FFFF }

    /// Octet `i` (0…5) in wire order.
    @inlinable public func octet(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * UInt64(i))) }

    /// Reads six octets at `offset` (the caller has checked the bounds).
    @inlinable public init(reading bytes: UnsafeRawBufferPointer, at offset: Int) {
        var v: UInt64 = 0
        for i in 0..<6 { v = v << 8 | UInt64(bytes[offset + i]) }
        rawValue = v
    }

    /// Writes six octets at `offset` (the caller has checked the bounds).
    @inlinable public func write(to bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        for i in 0..<6 { bytes[offset + i] = octet(i) }
    }

    public var description: String {
        let hex: [Character] = Array("0123456789abcdef")
        var s = ""
        s.reserveCapacity(17)
        for i in 0..<6 {
            if i > 0 { s.append(":") }
            let o = octet(i)
            s.append(hex[Int(o >> 4)])
            s.append(hex[Int(o & 15)])
        }
        return s
    }
}
