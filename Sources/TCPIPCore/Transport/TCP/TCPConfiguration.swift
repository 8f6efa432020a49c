/// TCP tunables. Defaults follow Linux where a Linux programmer would expect them.
public struct TCPConfiguration: Sendable {
    /// TIME-WAIT duration, 2×MSL (RFC 9293 §3.4.2; Linux: 60 s).
    public var timeWait: Int64 = 60_000_000_000
    /// SYN retransmissions before `connect` fails with `ETIMEDOUT` (Linux `tcp_syn_retries`).
    public var synRetries = 6
    /// SYN-ACK retransmissions before an embryonic connection is dropped (Linux `tcp_synack_retries`).
    public var synAckRetries = 5
    /// Data retransmissions before the connection fails with `ETIMEDOUT` (RFC 1122 §4.2.3.5 R2;
    /// Linux `tcp_retries2`).
    public var retries = 15
    /// Delayed-ACK timeout (RFC 9293 §3.8.6.3: MUST be under 0.5 s; RFC 1122 §4.2.3.2; Linux's minimum 40 ms).
    public var delayedAckTimeout: Int64 = 40_000_000
    /// RFC 6298 (2.1) initial RTO.
    public var initialRTO: Int64 = 1_000_000_000
    /// RFC 6298 (2.4) lower bound (Linux: 200 ms).
    public var minRTO: Int64 = 200_000_000
    /// RFC 6298 (2.5) upper bound (Linux: 120 s).
    public var maxRTO: Int64 = 120_000_000_000
    /// Default receive buffer of a stream socket.
    public var receiveBuffer = 256 * 1024
    /// Default send buffer of a stream socket.
    public var sendBuffer = 256 * 1024
    /// Out-of-order ranges held per connection.
    public var outOfOrderRanges = 32
    /// Embryonic connections per listener at most (the SYN queue; a listener's own limit is
    /// its backlog, as on Linux, capped by this).
    public var synQueueLimit = 1024
    /// TCP connections at most, in any state (embryonic and TIME-WAIT included). Past it a
    /// SYN is dropped and `connect` fails with `ENOBUFS`.
    public var maxConnections = 65536
    /// Send plus receive buffer bytes all connections may hold at most (each connection is
    /// charged its buffer sizes when made). Past it, as `maxConnections`.
    public var maxConnectionMemory = 4 << 30
    /// Answer SYNs with SYN cookies when a listener's SYN queue is full (RFC 4987 §3.6; Linux
    /// `tcp_syncookies=1`); otherwise such SYNs are dropped.
    public var synCookies = true
    /// Connections in TIME-WAIT at most; beyond it a closing connection skips TIME-WAIT (as Linux's `tcp_max_tw_buckets`).
    public var timeWaitLimit = 16384
    /// How long an orphaned connection may stay in FIN-WAIT-2 (Linux `tcp_fin_timeout`).
    public var finWait2Timeout: Int64 = 60_000_000_000
    /// Challenge ACKs per second (RFC 5961 §7; Linux `tcp_challenge_ack_limit`).
    public var challengeAcksPerSecond = 1000
    /// Least time between two ACKs a connection sends to unacceptable segments or as challenge
    /// ACKs (Linux `tcp_invalid_ratelimit`, 500 ms).
    public var outOfWindowAckInterval: Int64 = 500_000_000
    /// Initial congestion window in segments (RFC 6928).
    public var initialWindowSegments = 10
    /// The smallest MSS accepted from a peer or a path (Linux `TCP_MIN_MSS`).
    public var minimumMSS = 88
    /// Persist (zero-window probe) interval bounds.
    public var minPersist: Int64 = 200_000_000
    /// Largest interval between zero-window probes.
    public var maxPersist: Int64 = 120_000_000_000
    /// Offer window scaling, timestamps and SACK on SYNs (RFC 7323, RFC 2018).
    public var windowScaling = true
    /// Offer timestamps (RFC 7323).
    public var timestamps = true
    /// Offer SACK (RFC 2018).
    public var sack = true

    /// Linux-like defaults.
    public init() {}
}
