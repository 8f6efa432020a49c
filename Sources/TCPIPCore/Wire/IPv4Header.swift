/// IP protocol numbers (RFC 790, "Assigned Numbers") the stack understands.
public enum IPProtocol {
    /// ICMP (RFC 792).
    public static let icmp: UInt8 = 1
    /// TCP (RFC 9293).
    public static let tcp: UInt8 = 6
    /// UDP (RFC 768).
    public static let udp: UInt8 = 17
}

/// An IPv4 header (RFC 791 §3.1).
///
/// `parse` validates the header and its options (which are skipped, not decoded); `write`
/// writes a 20-byte header without options.
public struct IPv4Header: Hashable, Sendable {
    /// The size of a header without options.
    public static let minimumSize = 20
    /// The largest header: IHL 15.
    public static let maximumSize = 60

    /// The version field: 4.
    public var version: UInt8
    /// The header length in bytes (IHL × 4), 20…60.
    public var headerLength: Int
    /// The type-of-service byte (DSCP and ECN, RFC 2474 and RFC 3168).
    public var tos: UInt8
    /// The total length of the datagram in bytes, header included.
    public var totalLength: Int
    /// The identification field, which ties fragments together.
    public var identification: UInt16
    /// The DF flag: do not fragment.
    public var dontFragment: Bool
    /// The MF flag: more fragments follow.
    public var moreFragments: Bool
    /// The fragment offset in bytes (the wire field × 8).
    public var fragmentOffset: Int
    /// Time to live.
    public var ttl: UInt8
    /// The payload's protocol (see `IPProtocol`).
    public var `protocol`: UInt8
    /// The header checksum as received (`write` computes its own).
    public var checksum: UInt16
    /// The source address.
    public var source: IPv4Address
    /// The destination address.
    public var destination: IPv4Address

    /// The offset of the payload from the start of the header: `headerLength`.
    @inlinable public var payloadOffset: Int { headerLength }
    /// The number of payload bytes: `totalLength - headerLength`.
    @inlinable public var payloadLength: Int { totalLength - headerLength }
    /// True when the datagram is a fragment (MF set or a non-zero offset).
    @inlinable public var isFragment: Bool { moreFragments || fragmentOffset != 0 }

    /// Creates a 20-byte header to be written; `totalLength` counts the header and the payload.
    @inlinable public init(
        tos: UInt8 = 0,
        totalLength: Int,
        identification: UInt16,
        dontFragment: Bool = false,
        moreFragments: Bool = false,
        fragmentOffset: Int = 0,
        ttl: UInt8,
        protocol proto: UInt8,
        source: IPv4Address,
        destination: IPv4Address
    ) {
        version = 4
        headerLength = Self.minimumSize
        self.tos = tos
        self.totalLength = totalLength
        self.identification = identification
        self.dontFragment = dontFragment
        self.moreFragments = moreFragments
        self.fragmentOffset = fragmentOffset
        self.ttl = ttl
        self.protocol = proto
        checksum = 0
        self.source = source
        self.destination = destination
    }

    /// Parses and validates the header at the start of `packet` (the Ethernet payload, padding
    /// included: bytes past `totalLength` are padding for the caller to ignore).
    ///
    /// Checks, in order: at least 20 bytes (`.ipTooShort`), version 4 (`.ipBadVersion`),
    /// 5 ≤ IHL and IHL × 4 ≤ `packet.count` (`.ipBadHeaderLength`), header length ≤ total
    /// length ≤ `packet.count` (`.ipBadTotalLength`), the header checksum (`.ipBadChecksum`),
    /// and the options' framing (`.ipBadOptions`).
    public static func parse(_ packet: UnsafeRawBufferPointer) -> Result<IPv4Header, DropReason> {
        // RFC 791 §3.1: the fixed part of the header is 20 bytes.
        guard packet.count >= minimumSize else { return .failure(.ipTooShort) }
        // RFC 1122 §3.2.1.1: a datagram whose version is not 4 MUST be silently discarded.
        let version = packet[0] >> 4
        guard version == 4 else { return .failure(.ipBadVersion) }
        // RFC 791 §3.1 "IHL": "the minimum value for a correct header is 5". The header must
        // also lie within the bytes received.
        let headerLength = Int(packet[0] & 0x0F) * 4
        guard headerLength >= minimumSize, headerLength <= packet.count else {
            return .failure(.ipBadHeaderLength)
        }
        // RFC 791 §3.1 "Total Length": the datagram's length, header included, so at least the
        // header; it cannot exceed the bytes received. Bytes past it are link-layer padding.
        let totalLength = Int(packet.be16(2))
        guard totalLength >= headerLength, totalLength <= packet.count else {
            return .failure(.ipBadTotalLength)
        }
        let header = UnsafeRawBufferPointer(rebasing: packet[0..<headerLength])
        // RFC 791 §3.1 "Header Checksum"; RFC 1122 §3.2.1.2: MUST verify and silently discard on failure.
        guard InternetChecksum.verifies(header) else { return .failure(.ipBadChecksum) }
        // RFC 791 §3.1 "Options": type-only options (0 EOL, 1 NOP) take one byte; all others
        // carry a length octet counting the type and length octets (so ≥ 2) and must fit in the
        // header. RFC 1122 §3.2.1.8: unknown options are ignored. Each step advances at least one
        // byte, so the walk takes at most 40 iterations.
        var i = minimumSize
        while i < headerLength {
            let kind = header[i]
            if kind == 0 { break }  // End of Option List
            if kind == 1 {  // No Operation
                i += 1
                continue
            }
            guard headerLength - i >= 2 else { return .failure(.ipBadOptions) }
            let length = Int(header[i + 1])
            guard length >= 2, length <= headerLength - i else { return .failure(.ipBadOptions) }
            i += length
        }
        let flagsAndOffset = packet.be16(6)
        return .success(
            IPv4Header(
                version: version,
                headerLength: headerLength,
                tos: packet[1],
                totalLength: totalLength,
                identification: packet.be16(4),
                dontFragment: flagsAndOffset & 0x4000 != 0,
                moreFragments: flagsAndOffset & 0x2000 != 0,
                fragmentOffset: Int(flagsAndOffset & 0x1FFF) * 8,
                ttl: packet[8],
                protocol: packet[9],
                checksum: packet.be16(10),
                source: IPv4Address(reading: packet, at: 12),
                destination: IPv4Address(reading: packet, at: 16)
            )
        )
    }

    /// Creates a header from every decoded field (used by `parse`).
    init(
        version: UInt8,
        headerLength: Int,
        tos: UInt8,
        totalLength: Int,
        identification: UInt16,
        dontFragment: Bool,
        moreFragments: Bool,
        fragmentOffset: Int,
        ttl: UInt8,
        protocol proto: UInt8,
        checksum: UInt16,
        source: IPv4Address,
        destination: IPv4Address
    ) {
        self.version = version
        self.headerLength = headerLength
        self.tos = tos
        self.totalLength = totalLength
        self.identification = identification
        self.dontFragment = dontFragment
        self.moreFragments = moreFragments
        self.fragmentOffset = fragmentOffset
        self.ttl = ttl
        self.protocol = proto
        self.checksum = checksum
        self.source = source
        self.destination = destination
    }

    /// Writes a 20-byte header (IHL 5, version 4, no options) at `offset` and its checksum
    /// (RFC 791 §3.1). `version`, `headerLength` and `checksum` are not taken from `self`.
    ///
    /// The caller guarantees 20 bytes of room, `totalLength` ≤ 65535 and `fragmentOffset` a
    /// multiple of 8 below 65536.
    @inlinable public func write(to buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        assert(totalLength >= 0 && totalLength <= 0xFFFF, "IPv4 total length out of range")
        assert(fragmentOffset >= 0 && fragmentOffset & 7 == 0 && fragmentOffset <= 0xFFF8, "bad fragment offset")
        buffer[offset] = 0x45
        buffer[offset + 1] = tos
        buffer.setBE16(offset + 2, UInt16(truncatingIfNeeded: totalLength))
        buffer.setBE16(offset + 4, identification)
        var flagsAndOffset = UInt16(truncatingIfNeeded: fragmentOffset >> 3) & 0x1FFF
        if dontFragment { flagsAndOffset |= 0x4000 }
        if moreFragments { flagsAndOffset |= 0x2000 }
        buffer.setBE16(offset + 6, flagsAndOffset)
        buffer[offset + 8] = ttl
        buffer[offset + 9] = self.protocol
        buffer.setBE16(offset + 10, 0)
        source.write(to: buffer, at: offset + 12)
        destination.write(to: buffer, at: offset + 16)
        let header = UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + Self.minimumSize])
        buffer.setBE16(offset + 10, InternetChecksum.checksum(header))
    }
}
