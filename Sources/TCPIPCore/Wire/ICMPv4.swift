/// ICMPv4 message types (RFC 792).
public enum ICMPv4Type {
    /// Echo Reply.
    public static let echoReply: UInt8 = 0
    /// Destination Unreachable (codes in `ICMPv4UnreachableCode`).
    public static let destinationUnreachable: UInt8 = 3
    /// Source Quench (deprecated by RFC 6633; recognized, never sent).
    public static let sourceQuench: UInt8 = 4
    /// Redirect.
    public static let redirect: UInt8 = 5
    /// Echo Request.
    public static let echoRequest: UInt8 = 8
    /// Time Exceeded (codes in `ICMPv4TimeExceededCode`).
    public static let timeExceeded: UInt8 = 11
    /// Parameter Problem.
    public static let parameterProblem: UInt8 = 12
}

/// Destination Unreachable codes (RFC 792; code 4 per RFC 1191).
public enum ICMPv4UnreachableCode {
    /// Net unreachable.
    public static let net: UInt8 = 0
    /// Host unreachable.
    public static let host: UInt8 = 1
    /// Protocol unreachable.
    public static let `protocol`: UInt8 = 2
    /// Port unreachable.
    public static let port: UInt8 = 3
    /// Fragmentation needed and DF set; the next-hop MTU is in the header (RFC 1191 §4).
    public static let fragmentationNeeded: UInt8 = 4
}

/// Time Exceeded codes (RFC 792).
public enum ICMPv4TimeExceededCode {
    /// Time to live exceeded in transit.
    public static let ttl: UInt8 = 0
    /// Fragment reassembly time exceeded.
    public static let reassembly: UInt8 = 1
}

/// The 8-byte header of an ICMPv4 message (RFC 792): type, code, checksum and the
/// type-specific "rest of header" word, followed by the message body.
public struct ICMPv4Header: Hashable, Sendable {
    /// The header's size on the wire.
    public static let size = 8

    /// The message type (see `ICMPv4Type`).
    public var type: UInt8
    /// The message code.
    public var code: UInt8
    /// The checksum as received (`write` computes its own).
    public var checksum: UInt16
    /// Bytes 4…7 of the message, whose meaning depends on the type.
    public var restOfHeader: UInt32
    /// The number of bytes after the header (0 for a header built to be written).
    public var payloadLength: Int

    /// The offset of the body from the start of the message: 8.
    @inlinable public var payloadOffset: Int { Self.size }

    /// Echo and Echo Reply: the identifier (the high half of `restOfHeader`).
    @inlinable public var identifier: UInt16 {
        get { UInt16(truncatingIfNeeded: restOfHeader >> 16) }
        set { restOfHeader = UInt32(newValue) << 16 | restOfHeader & 0xFFFF }
    }

    /// Echo and Echo Reply: the sequence number (the low half of `restOfHeader`).
    @inlinable public var sequenceNumber: UInt16 {
        get { UInt16(truncatingIfNeeded: restOfHeader) }
        set { restOfHeader = restOfHeader & 0xFFFF_0000 | UInt32(newValue) }
    }

    /// Destination Unreachable, Fragmentation Needed: the next-hop MTU (RFC 1191 §4, the low
    /// half of `restOfHeader`; 0 from routers that predate RFC 1191).
    @inlinable public var nextHopMTU: UInt16 {
        get { UInt16(truncatingIfNeeded: restOfHeader) }
        set { restOfHeader = restOfHeader & 0xFFFF_0000 | UInt32(newValue) }
    }

    /// Parameter Problem: the pointer to the offending octet (the first byte of `restOfHeader`).
    @inlinable public var pointer: UInt8 { UInt8(truncatingIfNeeded: restOfHeader >> 24) }

    /// Redirect: the gateway address (all of `restOfHeader`).
    @inlinable public var gateway: IPv4Address { IPv4Address(rawValue: restOfHeader) }

    /// Creates a header.
    @inlinable public init(
        type: UInt8,
        code: UInt8,
        restOfHeader: UInt32 = 0,
        checksum: UInt16 = 0,
        payloadLength: Int = 0
    ) {
        self.type = type
        self.code = code
        self.checksum = checksum
        self.restOfHeader = restOfHeader
        self.payloadLength = payloadLength
    }

    /// Creates an Echo Request or Echo Reply header.
    @inlinable public init(echoType: UInt8, identifier: UInt16, sequenceNumber: UInt16) {
        self.init(type: echoType, code: 0, restOfHeader: UInt32(identifier) << 16 | UInt32(sequenceNumber))
    }

    /// True for the error messages (RFC 1122 §3.2.2): Destination Unreachable, Source Quench,
    /// Redirect, Time Exceeded, Parameter Problem. An error is never sent about an error
    /// (RFC 1122 §3.2.2).
    @inlinable public static func isError(type: UInt8) -> Bool {
        switch type {
        case ICMPv4Type.destinationUnreachable, ICMPv4Type.sourceQuench, ICMPv4Type.redirect,
            ICMPv4Type.timeExceeded, ICMPv4Type.parameterProblem:
            return true
        default:
            return false
        }
    }

    /// Parses an ICMP message: `message` is the whole IP payload (already trimmed to the IP
    /// total length), since the checksum covers all of it.
    ///
    /// Fails with `.icmpTooShort` (fewer than 8 bytes) or `.icmpBadChecksum`. Types and codes
    /// are not judged here.
    public static func parse(_ message: UnsafeRawBufferPointer) -> Result<ICMPv4Header, DropReason> {
        // RFC 792: every message starts with type, code, checksum and a 4-byte word.
        guard message.count >= size else { return .failure(.icmpTooShort) }
        // RFC 792 "Checksum": the ones' complement of the ones' complement sum of the ICMP
        // message starting with the ICMP Type; a message that fails it is dropped.
        guard InternetChecksum.verifies(message) else { return .failure(.icmpBadChecksum) }
        return .success(
            ICMPv4Header(
                type: message[0],
                code: message[1],
                restOfHeader: message.be32(4),
                checksum: message.be16(2),
                payloadLength: message.count - size
            )
        )
    }

    /// Writes the 8-byte header at `offset` and the checksum over it and the body that already
    /// follows it: `totalLength` bytes (header included) from `offset` (RFC 792). The caller
    /// guarantees those bytes lie in `buffer`.
    @inlinable public func write(to buffer: UnsafeMutableRawBufferPointer, at offset: Int, totalLength: Int) {
        assert(totalLength >= Self.size, "ICMP message shorter than its header")
        buffer[offset] = type
        buffer[offset + 1] = code
        buffer.setBE16(offset + 2, 0)
        buffer.setBE32(offset + 4, restOfHeader)
        let message = UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + totalLength])
        buffer.setBE16(offset + 2, InternetChecksum.checksum(message))
    }
}
