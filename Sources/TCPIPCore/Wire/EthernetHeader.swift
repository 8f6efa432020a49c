/// EtherType values (IEEE 802.3, RFC 894) the stack understands.
public enum EtherType {
    /// IPv4 (RFC 894).
    public static let ipv4: UInt16 = 0x0800
    /// ARP (RFC 826).
    public static let arp: UInt16 = 0x0806
}

/// An Ethernet II header (RFC 894): destination, source, EtherType; 14 bytes, no FCS.
///
/// The parser does not trim the trailing padding that brings short frames up to the
/// 60-byte Ethernet minimum: the payload runs to the end of the frame, and the IP layer
/// trims it with the IPv4 total length (ARP ignores bytes past its 28).
public struct EthernetHeader: Hashable, Sendable {
    /// The header's size on the wire.
    public static let size = 14

    /// The destination MAC address.
    public var destination: MACAddress
    /// The source MAC address.
    public var source: MACAddress
    /// The EtherType of the payload (see `EtherType`).
    public var etherType: UInt16
    /// The number of bytes after the header, padding included (0 for a header built to be written).
    public var payloadLength: Int

    /// The offset of the payload from the start of the frame.
    @inlinable public var payloadOffset: Int { Self.size }

    /// Creates a header.
    @inlinable public init(destination: MACAddress, source: MACAddress, etherType: UInt16, payloadLength: Int = 0) {
        self.destination = destination
        self.source = source
        self.etherType = etherType
        self.payloadLength = payloadLength
    }

    /// Parses the header at the start of `frame`.
    ///
    /// Fails with `.linkFrameTooShort` when `frame` holds fewer than 14 bytes.
    public static func parse(_ frame: UnsafeRawBufferPointer) -> Result<EthernetHeader, DropReason> {
        // RFC 894: 6 + 6 + 2 bytes before the data.
        guard frame.count >= size else { return .failure(.linkFrameTooShort) }
        return .success(
            EthernetHeader(
                destination: MACAddress(reading: frame, at: 0),
                source: MACAddress(reading: frame, at: 6),
                etherType: frame.be16(12),
                payloadLength: frame.count - size
            )
        )
    }

    /// Writes the 14-byte header at `offset` (the caller guarantees room). `payloadLength` is
    /// not written: Ethernet II carries no length.
    @inlinable public func write(to buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        destination.write(to: buffer, at: offset)
        source.write(to: buffer, at: offset + 6)
        buffer.setBE16(offset + 12, etherType)
    }
}
