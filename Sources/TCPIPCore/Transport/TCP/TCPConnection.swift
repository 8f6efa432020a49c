/// A connection's 4-tuple, the key of the connection table.
struct TCPFourTuple: Hashable {
    var localAddress: IPv4Address
    var localPort: UInt16
    var remoteAddress: IPv4Address
    var remotePort: UInt16
}

/// The transmission control block (RFC 9293 §3.3.1): everything TCP knows about one
/// connection. Variable names follow the RFC (SND.UNA → `sndUna`).
struct TCPConnection {
    var state: TCPState
    var tuple: TCPFourTuple
    var route: RouteChoice
    /// The socket that owns the connection; nil while embryonic or once orphaned.
    var owner: SocketID?
    /// The owner's descriptor.
    var fd: Int32? { owner?.descriptor }
    /// The listening socket an embryonic or unaccepted connection belongs to.
    var listener: Int32?
    /// True for connections made by a passive open (RFC 9293 §3.10.7.4: SYN-RECEIVED returns to LISTEN on RST).
    var passive: Bool
    /// Slot generation, so stale timer entries are recognized.
    var generation: UInt32 = 0

    // Send sequence variables (RFC 9293 §3.3.1).
    var iss: SequenceNumber
    var sndUna: SequenceNumber
    var sndNxt: SequenceNumber
    /// The highest sequence number sent (SND.NXT moves back on retransmission timeout).
    var sndMax: SequenceNumber
    /// Send window (scaled, bytes).
    var sndWnd = 0
    /// The largest window the peer has offered (for the ACK acceptability check, RFC 5961 §5.2).
    var maxSndWnd = 0
    var sndWl1 = SequenceNumber(0)
    var sndWl2 = SequenceNumber(0)
    var sendBuffer: SendBuffer
    /// The application closed its sending side: a FIN follows the data.
    var finQueued = false

    // Receive sequence variables.
    var irs = SequenceNumber(0)
    var rcvNxt = SequenceNumber(0)
    /// The right edge of the window last advertised; never moved left (RFC 9293 §3.8.6.2.2).
    var rcvAdvertised = SequenceNumber(0)
    var receiveBuffer: ReceiveBuffer
    /// The peer's FIN was received in order: reads end with EOF after the buffered bytes.
    var finReceived = false
    /// Sequence number of a FIN that arrived out of order (behind a hole).
    var pendingFin: SequenceNumber?
    /// Stop taking data (shutdown read or orphaned).
    var readShut = false

    // Options (RFC 9293 §3.7.1, RFC 7323, RFC 2018).
    /// Effective send MSS (data bytes per segment, options excluded).
    var mss: Int
    /// The MSS we advertised.
    var advertisedMSS: Int
    /// The peer's MSS option (536 when absent).
    var peerMSS = 536
    var sndWindowShift = 0
    var rcvWindowShift = 0
    var windowScaling = false
    var timestamps = false
    var tsRecent: UInt32 = 0
    var tsRecentAge = Instant.zero
    var tsOffset: UInt32 = 0
    var lastAckSent = SequenceNumber(0)
    var sack = false

    // Retransmission (RFC 6298) and congestion control (RFC 5681).
    var rtt: RTTEstimator
    /// The segment being timed (Karn's algorithm): its end sequence and send time.
    var rttSequence: SequenceNumber?
    var rttStart = Instant.zero
    /// Loss recovery and congestion control (RFC 5681, RFC 6582, RFC 6675).
    var cc: NewReno
    /// The highest sequence number a SACK block from the peer has covered (RFC 6675 §2).
    var highestSACKed = SequenceNumber(0)
    /// The peer's SACKed ranges above SND.UNA, sorted, merged, at most 16 (the scoreboard of
    /// RFC 6675 §3, kept small).
    var sacked: [(left: SequenceNumber, right: SequenceNumber)] = []
    /// The highest sequence number retransmitted in the current recovery (RFC 6675 "HighRxt").
    var highRxt = SequenceNumber(0)
    var retransmits = 0
    var retransmitsTotal = 0

    // Timers: due instants, nil when off.
    var retransmitAt: Instant?
    var persistAt: Instant?
    var persistBackoff = 0
    /// Zero-window probes sent since the peer last sent anything.
    var unansweredProbes = 0
    /// When the last ACK to an unacceptable segment or challenge ACK went out.
    var lastOutOfWindowAck: Instant?
    var delayedAckAt: Instant?
    /// The delayed-ACK timer is the end of a receive batch (`Stack.coalescesAcknowledgments`),
    /// not the delayed-ACK timeout.
    var ackCoalesced = false
    var keepaliveAt: Instant?
    var keepaliveProbes = 0
    var timeWaitAt: Instant?
    var finWait2At: Instant?

    // ACK state.
    var ackNow = false
    var fullSegmentsUnacked = 0
    var lastSegmentAt = Instant.zero

    // Socket-visible state.
    var pendingError: Errno?
    /// A reset (or timeout) ended the connection; reads report it once after the buffered bytes.
    var resetError: Errno?
    var noDelay = false
    var keepAlive = false
    var keepIdle: Int64 = 7_200_000_000_000
    var keepInterval: Int64 = 75_000_000_000
    var keepCount = 9
    var userTimeout: Int64 = 0
    /// TCP_MAXSEG: a cap on the MSS set by the application.
    var userMSS: Int?
    /// The reset was reported to a reader; later reads give EOF.
    var resetReported = false

    init(
        tuple: TCPFourTuple,
        route: RouteChoice,
        iss: SequenceNumber,
        passive: Bool,
        sendBuffer: Int,
        receiveBuffer: Int,
        maxRanges: Int,
        advertisedMSS: Int,
        rtt: RTTEstimator,
        initialWindowSegments: Int
    ) {
        state = .closed
        self.tuple = tuple
        self.route = route
        self.passive = passive
        self.iss = iss
        sndUna = iss
        sndNxt = iss
        sndMax = iss
        highestSACKed = iss
        highRxt = iss
        self.sendBuffer = SendBuffer(capacity: sendBuffer)
        self.receiveBuffer = ReceiveBuffer(capacity: receiveBuffer, maxRanges: maxRanges)
        mss = 536
        self.advertisedMSS = advertisedMSS
        self.rtt = rtt
        cc = NewReno(mss: 536, initialWindowSegments: initialWindowSegments, iss: iss)
    }

    /// Bytes sent and not yet acknowledged (the FIN counts one).
    var flightSize: Int { sndMax - sndUna }
    /// Data bytes in the send buffer not yet sent.
    var unsentBytes: Int { max(0, sendBuffer.count - (sndNxt - sndUna)) }
    /// The sequence number our FIN occupies, once it was sent.
    var finSeq: SequenceNumber?
    /// True when our FIN has been acknowledged.
    var finAcked: Bool { finSeq.map { sndUna > $0 } ?? false }

    /// The window we can advertise now: room in the receive buffer, never shrinking the
    /// right edge already offered (RFC 9293 §3.8.6.2.2, RFC 7323 §2.4).
    var receiveWindow: Int { max(0, receiveBuffer.window) }

    /// True when a datagram of `flow` belongs to this connection.
    func carries(_ flow: PacketFlow) -> Bool {
        tuple.localPort == flow.localPort && tuple.remoteAddress == flow.remoteAddress
            && tuple.remotePort == flow.remotePort
    }

    /// The earliest timer.
    var nextTimer: Instant? {
        var t = retransmitAt
        @inline(__always) func take(_ x: Instant?) {
            if let x, t == nil || x < t! { t = x }
        }
        take(persistAt)
        take(delayedAckAt)
        take(keepaliveAt)
        take(timeWaitAt)
        take(finWait2At)
        return t
    }
}
