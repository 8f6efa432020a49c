/// Loss recovery and congestion control as the rest of TCP sees them: the ACK step and the
/// timers report what happened (an ACK of new data, a duplicate ACK, a retransmission
/// timeout), and the controller answers with the window the sender may fill and what, if
/// anything, to retransmit now. The ACK step itself keeps only RFC 9293's bookkeeping
/// (SND.UNA, the window update, the state changes).
///
/// NewReno with SACK-counted duplicate ACKs (`NewReno`) is the one implementation today; an
/// algorithm such as CUBIC (RFC 9438) or a detector such as RACK-TLP (RFC 8985) conforms to
/// the same protocol and slots in beside it. Pacing will be one more query (`canSend`).
protocol CongestionController {
    /// The congestion window, in bytes (RFC 5681 cwnd).
    var cwnd: Int { get }
    /// The slow-start threshold, in bytes; `Int.max` until the first loss.
    var ssthresh: Int { get }
    /// True while recovering from a loss (fast recovery, RFC 5681 §3.2 / RFC 6582).
    var inRecovery: Bool { get }
    /// Bytes the sender may have in flight beyond SND.UNA now, before the peer's window.
    /// `sendingNewData` is false while SND.NXT is behind SND.MAX (going back after a timeout).
    func sendWindow(sendingNewData: Bool) -> Int

    /// The sender MSS changed: from the handshake (`initial`, which also resets the initial
    /// window, RFC 6928) or from a smaller path MTU (RFC 1191).
    mutating func setMSS(_ mss: Int, initial: Bool, initialWindowSegments: Int)
    /// An ACK moved SND.UNA forward.
    mutating func onAck(_ ack: AckSample) -> RecoveryAction
    /// A duplicate ACK arrived (RFC 5681 §2; with SACK, RFC 6675 §2 "DupAck").
    mutating func onDuplicateAck(_ ack: AckSample) -> RecoveryAction
    /// The retransmission timer expired (RFC 6298 §5, RFC 5681 (4)).
    mutating func onRetransmitTimeout(flightSize: Int, highestSent: SequenceNumber)
}

/// What the ACK step tells the controller about one acknowledgment.
struct AckSample {
    /// SEG.ACK.
    var ack: SequenceNumber
    /// Sequence space newly acknowledged (SEG.ACK − old SND.UNA; 0 for a duplicate).
    var acked: Int
    /// Data bytes among them (the SYN and FIN are not data).
    var dataAcked: Int
    /// FlightSize before this ACK (RFC 5681 §2).
    var flightBefore: Int
    /// SND.MAX: the highest sequence number sent.
    var highestSent: SequenceNumber
}

/// What the controller asks the sender to retransmit now.
enum RecoveryAction: Equatable {
    /// Nothing now (new data may still go out within the window).
    case none
    /// A loss was detected and recovery begins: resend the first unacknowledged segment
    /// (fast retransmit, RFC 5681 §3.2 (2)).
    case fastRetransmit
    /// Resend the first unacknowledged segment (a partial ACK in recovery, RFC 6582 §3.2 (4)).
    case retransmitFirst
    /// Resend the first segment of the next hole below the highest SACKed byte (RFC 6675 §4
    /// NextSeg (1)).
    case retransmitNextHole
}
