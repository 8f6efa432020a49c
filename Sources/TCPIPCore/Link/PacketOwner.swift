/// Who sent an outgoing datagram, so that a failure after the call returned (ARP gave up,
/// RFC 1122 §2.3.2.2) reaches the right waiter.
public enum PacketOwner: Sendable, Equatable {
    /// Nobody waits (ICMP errors, ARP, replies).
    case none
    /// The socket with this descriptor.
    case socket(Int32)
    /// A ping the stack sent.
    case echo(identifier: UInt16, sequence: UInt16)
}

/// An IP datagram held while its next hop resolves.
struct PendingPacket {
    var bytes: [UInt8]
    var owner: PacketOwner
}
