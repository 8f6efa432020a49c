/// An IPv4 address (RFC 791), held as a host-order `UInt32` (`10.0.0.1` is `0x0A00_0001`).
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The address as an integer; the first octet on the wire is bits 31…24.
    public var rawValue: UInt32

    /// Creates an address from its integer form.
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Creates an address from four octets, `a.b.c.d`.
    @inlinable public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text (`10.99.0.2`); nil if malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let o = UInt8(p) else {
                return nil
            }
            v = v << 8 | UInt32(o)
        }
        rawValue = v
    }

    /// 0.0.0.0, the unspecified address.
    public static let any = IPv4Address(rawValue: 0)
    /// 255.255.255.255, the limited broadcast address.
    public static let broadcast = IPv4Address(rawValue: 0xFFFF_FFFF)

    /// True for 224.0.0.0/4 (RFC 1112).
    @inlinable public var isMulticast: Bool { rawValue >> 28 == 0xE }
    /// True for 0.0.0.0.
    @inlinable public var isUnspecified: Bool { rawValue == 0 }
    /// True for 127.0.0.0/8.
    @inlinable public var isLoopback: Bool { rawValue >> 24 == 127 }

    @inlinable public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.rawValue < b.rawValue }

    /// Reads four octets at `offset` (the caller has checked the bounds).
    @inlinable public init(reading bytes: UnsafeRawBufferPointer, at offset: Int) {
        rawValue =
            UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }

    /// Writes four octets at `offset` (the caller has checked the bounds).
    @inlinable public func write(to bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: rawValue >> 24)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: rawValue >> 16)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: rawValue >> 8)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: rawValue)
    }

    public var description: String {
        "\(rawValue >> 24).\((rawValue >> 16) & 255).\((rawValue >> 8) & 255).\(rawValue & 255)"
    }
}

/// An IPv4 network: an address and a prefix length (`10.99.0.2/24`).
public struct IPv4Network: Hashable, Sendable, CustomStringConvertible {
    /// An address in the network (the interface's own address when it describes an interface).
    public var address: IPv4Address
    /// The prefix length, 0…32.
    public var prefixLength: Int

    /// Creates a network; `prefixLength` must be 0…32.
    public init(address: IPv4Address, prefixLength: Int) {
        precondition((0...32).contains(prefixLength))
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `a.b.c.d/p`; nil if malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = IPv4Address(String(parts[0])), let p = Int(parts[1]), (0...32).contains(p),
            parts[1].allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        self.init(address: a, prefixLength: p)
    }

    /// The netmask as an integer.
    @inlinable public var mask: UInt32 { prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength) }
    /// The network's own address (host bits zero).
    @inlinable public var networkAddress: IPv4Address { IPv4Address(rawValue: address.rawValue & mask) }
    /// The directed broadcast address (host bits one).
    @inlinable public var broadcastAddress: IPv4Address { IPv4Address(rawValue: address.rawValue | ~mask) }
    /// True when `other` lies in this network.
    @inlinable public func contains(_ other: IPv4Address) -> Bool { other.rawValue & mask == address.rawValue & mask }

    public var description: String { "\(address)/\(prefixLength)" }
}
