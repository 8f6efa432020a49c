/// ARP operation codes (RFC 826, "ar$op").
public enum ARPOperation {
    /// `ares_op$REQUEST`.
    public static let request: UInt16 = 1
    /// `ares_op$REPLY`.
    public static let reply: UInt16 = 2
}

/// An ARP packet for Ethernet and IPv4 (RFC 826): 28 bytes.
///
/// Only the Ethernet/IPv4 combination is accepted; the fixed hardware and protocol fields
/// are checked by `parse` and written by `write`.
public struct ARPPacket: Hashable, Sendable {
    /// The packet's size on the wire.
    public static let size = 28
    /// `ar$hrd` for Ethernet (RFC 826, `ares_hrd$Ethernet`).
    public static let hardwareTypeEthernet: UInt16 = 1

    /// `ar$op`: `ARPOperation.request` or `ARPOperation.reply`.
    public var operation: UInt16
    /// `ar$sha`, the sender's hardware address.
    public var senderMAC: MACAddress
    /// `ar$spa`, the sender's protocol address.
    public var senderIP: IPv4Address
    /// `ar$tha`, the target's hardware address (zero in a request).
    public var targetMAC: MACAddress
    /// `ar$tpa`, the target's protocol address.
    public var targetIP: IPv4Address

    /// Creates a packet.
    @inlinable public init(
        operation: UInt16,
        senderMAC: MACAddress,
        senderIP: IPv4Address,
        targetMAC: MACAddress,
        targetIP: IPv4Address
    ) {
        self.operation = operation
        self.senderMAC = senderMAC
        self.senderIP = senderIP
        self.targetMAC = targetMAC
        self.targetIP = targetIP
    }

    /// Parses an ARP packet at the start of `packet` (the Ethernet payload; bytes past 28, such
    /// as Ethernet padding, are ignored).
    ///
    /// Fails with `.arpTooShort` (fewer than 28 bytes), `.arpBadHardware` (not Ethernet/IPv4
    /// with 6- and 4-byte addresses) or `.arpBadOperation` (neither request nor reply).
    public static func parse(_ packet: UnsafeRawBufferPointer) -> Result<ARPPacket, DropReason> {
        guard packet.count >= size else { return .failure(.arpTooShort) }
        // RFC 826 "Packet Reception": check ar$hrd and ar$pro (with their lengths ar$hln, ar$pln)
        // before anything else; only Ethernet (1) and IPv4 (0x0800) are spoken here.
        guard packet.be16(0) == hardwareTypeEthernet, packet.be16(2) == EtherType.ipv4, packet[4] == 6, packet[5] == 4
        else { return .failure(.arpBadHardware) }
        // RFC 826: ar$op is REQUEST or REPLY.
        let op = packet.be16(6)
        guard op == ARPOperation.request || op == ARPOperation.reply else { return .failure(.arpBadOperation) }
        return .success(
            ARPPacket(
                operation: op,
                senderMAC: MACAddress(reading: packet, at: 8),
                senderIP: IPv4Address(reading: packet, at: 14),
                targetMAC: MACAddress(reading: packet, at: 18),
                targetIP: IPv4Address(reading: packet, at: 24)
            )
        )
    }

    /// Writes the 28-byte packet at `offset` (the caller guarantees room).
    @inlinable public func write(to buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.setBE16(offset, Self.hardwareTypeEthernet)
        buffer.setBE16(offset + 2, EtherType.ipv4)
        buffer[offset + 4] = 6
        buffer[offset + 5] = 4
        buffer.setBE16(offset + 6, operation)
        senderMAC.write(to: buffer, at: offset + 8)
        senderIP.write(to: buffer, at: offset + 14)
        targetMAC.write(to: buffer, at: offset + 18)
        targetIP.write(to: buffer, at: offset + 24)
    }
}
