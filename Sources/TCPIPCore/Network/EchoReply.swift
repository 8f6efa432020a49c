/// An ICMP echo reply (RFC 792) matched to a ping.
public struct EchoReply: Sendable, Equatable {
    /// Who answered.
    public var source: IPv4Address
    /// The echo identifier.
    public var identifier: UInt16
    /// The echo sequence number.
    public var sequence: UInt16
    /// The reply's IP time to live.
    public var ttl: UInt8
    /// ICMP payload length in bytes.
    public var payloadLength: Int
    /// True when the payload equals what was sent.
    public var payloadMatches: Bool
}
