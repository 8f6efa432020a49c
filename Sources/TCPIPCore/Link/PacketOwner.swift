/// Who sent an outgoing datagram, so that a failure after the call returned (ARP gave up,
/// RFC 1122 §2.3.2.2) reaches the right waiter.
public enum PacketOwner: Sendable, Equatable {
    /// Nobody waits (ICMP errors, ARP, replies).
    case none
    /// This socket (by identity: a socket closed since does not pass it on to the next one
    /// given its descriptor), for this flow: a failure is reported only while the socket is
    /// still in that flow (connected to the same peer and ports, as Linux matches an error to
    /// the socket of the quoted 4-tuple).
    case socket(SocketID, flow: PacketFlow)
    /// A ping the stack sent.
    case echo(identifier: UInt16, sequence: UInt16)
}

/// An IP datagram held while its next hop resolves.
struct PendingPacket {
    var bytes: [UInt8]
    var owner: PacketOwner
}

/// The transport flow a datagram belongs to, as its sender saw it.
public struct PacketFlow: Sendable, Equatable {
    /// The local port.
    public var localPort: UInt16
    /// The destination address.
    public var remoteAddress: IPv4Address
    /// The destination port.
    public var remotePort: UInt16
}
