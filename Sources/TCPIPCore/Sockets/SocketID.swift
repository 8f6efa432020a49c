/// A socket's identity: its descriptor together with the generation of that descriptor's slot.
///
/// Descriptors are reused (POSIX hands out the lowest free one), so anything recorded for a
/// socket after the call that caused it returned — an ARP failure, an ICMP error, a wake-up —
/// is addressed by identity, never by number: once a socket is closed its identity matches no
/// socket again, and what was meant for it cannot reach the socket that reuses the descriptor.
public struct SocketID: Hashable, Sendable, CustomStringConvertible {
    /// The descriptor the socket was given.
    public let descriptor: Int32
    /// How many sockets that descriptor has named, this one included.
    public let generation: UInt32

    public var description: String { "\(descriptor)#\(generation)" }
}
