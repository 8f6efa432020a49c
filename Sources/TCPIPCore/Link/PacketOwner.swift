/// Who sent an outgoing datagram, so that a failure after the call returned (ARP gave up,
/// RFC 1122 §2.3.2.2) reaches the right waiter.
public enum PacketOwner: Sendable, Equatable {
    /// Nobody waits (ICMP errors, ARP, replies).
    case none
    /// This socket (by identity: a socket closed since does not pass it on to the next one
    /// given its descriptor).
    case socket(SocketID)
    /// A ping the stack sent.
    case echo(identifier: UInt16, sequence: UInt16)
}

/// An IP datagram held while its next hop resolves.
struct PendingPacket {
    var bytes: [UInt8]
    var owner: PacketOwner
}
