/// Everything a `Stack` is made of and tuned by. Defaults follow Linux where a Linux
/// programmer would expect them.
public struct StackConfiguration: Sendable {
    /// The interfaces; index in this array is the interface index used by drivers.
    public var interfaces: [Interface]
    /// The default gateway, if any (RFC 1122 §3.3.1.1).
    public var gateway: IPv4Address?
    /// Time to live of datagrams the stack originates (RFC 1122 §3.2.1.7; Linux: 64).
    public var defaultTTL: UInt8 = 64

    /// How long a resolved ARP entry is trusted before it is re-validated (RFC 1122 §2.3.2.1).
    public var arpEntryLifetime: Int64 = 60_000_000_000
    /// Minimum time between two ARP requests for one address (RFC 1122 §2.3.2.1: at most one per second).
    public var arpRetryInterval: Int64 = 1_000_000_000
    /// ARP requests sent before a destination is declared unreachable.
    public var arpMaxRequests = 3
    /// Datagrams held per destination while it resolves (RFC 1122 §2.3.2.2 SHOULD save at least one).
    public var arpPendingPackets = 32
    /// Bytes held per destination while it resolves.
    public var arpPendingBytes = 256 * 1024
    /// Neighbour cache entries at most.
    public var arpMaxEntries = 1024

    /// Reassembly timeout (RFC 1122 §3.3.2: 60 s to 120 s recommended; Linux and this issue: 30 s).
    public var reassemblyTimeout: Int64 = 30_000_000_000
    /// Bytes held by all incomplete datagrams together.
    public var reassemblyMaxBytes = 4 * 1024 * 1024
    /// Incomplete datagrams at most.
    public var reassemblyMaxDatagrams = 64
    /// Fragments per datagram at most.
    public var reassemblyMaxFragments = 128

    /// ICMP error messages per second (token bucket, RFC 1812 §4.3.2.8, RFC 1122 §3.2.2).
    public var icmpErrorsPerSecond = 1000
    /// ICMP error burst.
    public var icmpErrorBurst = 50
    /// Whether to answer echo requests sent to a broadcast address (RFC 1122 §3.2.2.6 MAY; Linux: no).
    public var answerBroadcastPings = false

    /// Ephemeral port range (RFC 6056 §2.1; Linux's default).
    public var ephemeralPorts: ClosedRange<UInt16> = 32768...60999
    /// Default socket receive buffer (Linux `rmem_default`).
    public var defaultReceiveBuffer = 212_992
    /// Default socket send buffer (Linux `wmem_default`).
    public var defaultSendBuffer = 212_992
    /// TCP tunables.
    public var tcp = TCPConfiguration()
    /// Socket descriptors at most.
    public var maxSockets = 65536

    /// A configuration with these interfaces.
    public init(interfaces: [Interface], gateway: IPv4Address? = nil) {
        self.interfaces = interfaces
        self.gateway = gateway
    }
}
