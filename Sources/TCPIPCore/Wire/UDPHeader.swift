/// A UDP header (RFC 768): ports, length and checksum; 8 bytes.
public struct UDPHeader: Hashable, Sendable {
    /// The header's size on the wire.
    public static let size = 8

    /// The source port (0 when unused, RFC 768).
    public var sourcePort: UInt16
    /// The destination port.
    public var destinationPort: UInt16
    /// The length of the datagram in bytes, header included (the UDP length field).
    public var length: Int
    /// The checksum as received (0: not computed by the sender). `write` computes its own.
    public var checksum: UInt16

    /// The offset of the data from the start of the header: 8.
    @inlinable public var payloadOffset: Int { Self.size }
    /// The number of data bytes: `length - 8`.
    @inlinable public var payloadLength: Int { length - Self.size }

    /// Creates a header; `length` counts the header and the data.
    @inlinable public init(sourcePort: UInt16, destinationPort: UInt16, length: Int, checksum: UInt16 = 0) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.length = length
        self.checksum = checksum
    }

    /// Parses and validates a UDP datagram: `datagram` is the IP payload, and `source` and
    /// `destination` are the IP addresses for the pseudo-header.
    ///
    /// Fails with `.udpTooShort` (fewer than 8 bytes), `.udpBadLength` (the length field is
    /// below 8 or beyond the bytes received) or `.udpBadChecksum`. Bytes past the length field
    /// are ignored.
    ///
    /// `verifyChecksum: false` skips the checksum, for a datagram whose checksum a device left
    /// partial or verified (`FrameOffload`).
    public static func parse(
        _ datagram: UnsafeRawBufferPointer,
        source: IPv4Address,
        destination: IPv4Address,
        verifyChecksum: Bool = true
    ) -> Result<UDPHeader, DropReason> {
        // RFC 768: the header is 8 octets.
        guard datagram.count >= size else { return .failure(.udpTooShort) }
        // RFC 768 "Length": header plus data, "the minimum value of the length is eight"; it
        // cannot exceed what the IP layer delivered.
        let length = Int(datagram.be16(4))
        guard length >= size, length <= datagram.count else { return .failure(.udpBadLength) }
        let checksum = datagram.be16(6)
        // RFC 768: "An all zero transmitted checksum value means that the transmitter generated
        // no checksum"; RFC 1122 §4.1.3.4: a non-zero checksum MUST be verified, and the
        // datagram silently discarded if it fails. The sum covers the pseudo-header and the
        // `length` bytes of the datagram.
        if checksum != 0 && verifyChecksum {
            var sum = InternetChecksum()
            sum.addPseudoHeader(source: source, destination: destination, protocol: IPProtocol.udp, length: length)
            sum.add(UnsafeRawBufferPointer(rebasing: datagram[0..<length]))
            guard sum.folded == 0xFFFF else { return .failure(.udpBadChecksum) }
        }
        return .success(
            UDPHeader(
                sourcePort: datagram.be16(0),
                destinationPort: datagram.be16(2),
                length: length,
                checksum: checksum
            )
        )
    }

    /// Writes the 8-byte header at `offset` and its checksum over the pseudo-header and the
    /// `length` bytes from `offset` (the header and the data already after it, RFC 768). A
    /// computed checksum of zero is sent as 0xFFFF (RFC 768), since zero means "none".
    ///
    /// The caller guarantees `length` bytes at `offset` and `length` ≤ 65535.
    @inlinable public func write(
        to buffer: UnsafeMutableRawBufferPointer,
        at offset: Int,
        source: IPv4Address,
        destination: IPv4Address
    ) {
        assert(length >= Self.size && length <= 0xFFFF, "UDP length out of range")
        buffer.setBE16(offset, sourcePort)
        buffer.setBE16(offset + 2, destinationPort)
        buffer.setBE16(offset + 4, UInt16(truncatingIfNeeded: length))
        buffer.setBE16(offset + 6, 0)
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: source, destination: destination, protocol: IPProtocol.udp, length: length)
        sum.add(UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + length]))
        let value = sum.value
        buffer.setBE16(offset + 6, value == 0 ? 0xFFFF : value)
    }
}
