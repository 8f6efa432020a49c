/// NewReno congestion control: slow start and congestion avoidance (RFC 5681 §3.1), fast
/// retransmit and fast recovery (RFC 5681 §3.2) with NewReno's partial acknowledgments
/// (RFC 6582), duplicate ACKs counted with SACK (RFC 6675 §2), limited transmit (RFC 3042),
/// and an initial window of 10 segments (RFC 6928).
struct NewReno: CongestionController {
    /// Congestion window in bytes.
    private(set) var cwnd: Int
    /// Slow-start threshold in bytes; `Int.max` until the first loss ("arbitrarily high", RFC 5681 §3.1).
    private(set) var ssthresh = Int.max
    /// Sender MSS.
    private(set) var mss: Int
    /// Duplicate ACKs in a row.
    private(set) var duplicateAcks = 0
    /// In fast recovery until an ACK covers `recover` (RFC 6582 §3.2).
    private(set) var inRecovery = false
    /// The highest sequence number sent when recovery began (RFC 6582 "recover").
    private(set) var recover: SequenceNumber
    /// Bytes acknowledged in congestion avoidance not yet turned into window growth.
    private var bytesAckedInAvoidance = 0

    /// RFC 6582 §3.2 (1): "recover" starts at the initial send sequence number (not 0, which
    /// compares above half of all ISSs in modular order and would block fast retransmit).
    init(mss: Int, initialWindowSegments: Int, iss: SequenceNumber) {
        self.mss = mss
        cwnd = Self.initialWindow(mss: mss, segments: initialWindowSegments)
        recover = iss
    }

    /// RFC 6928 §2: min(10×MSS, max(2×MSS, 14600)) for 10 segments; RFC 5681 (3.1) otherwise.
    static func initialWindow(mss: Int, segments: Int) -> Int {
        if segments >= 10 { return min(segments * mss, max(2 * mss, 14600)) }
        return max(1, segments) * mss
    }

    func sendWindow(sendingNewData: Bool) -> Int {
        // Limited transmit (RFC 3042 §2): each of the first two duplicate ACKs lets one new
        // segment go beyond cwnd, so a small window can still produce the third. Only for new
        // data: not while going back after a timeout.
        let limited = inRecovery || !sendingNewData ? 0 : min(duplicateAcks, 2) * mss
        // The effective window is never below one segment.
        return max(cwnd, mss) + limited
    }

    mutating func setMSS(_ mss: Int, initial: Bool, initialWindowSegments: Int) {
        self.mss = mss
        if initial { cwnd = Self.initialWindow(mss: mss, segments: initialWindowSegments) }
    }

    mutating func onAck(_ a: AckSample) -> RecoveryAction {
        if inRecovery {
            if a.ack >= recover {
                // RFC 6582 §3.2 (3) full acknowledgment: deflate the window.
                cwnd = min(ssthresh, max(a.flightBefore - a.acked, mss) + mss)
                inRecovery = false
                duplicateAcks = 0
                return .none
            }
            // RFC 6582 §3.2 (4) partial acknowledgment: retransmit the first unacknowledged
            // segment, deflate by the amount acked, add back one SMSS.
            cwnd = max(mss, cwnd - a.acked + mss)
            return .retransmitFirst
        }
        // RFC 5681 §3.1: cwnd grows for ACKs of new data; the ACK of our SYN is not one.
        grow(acked: a.dataAcked)
        // Keep `recover` within 2^31 of SND.UNA so the modular comparison with it stays right
        // on long connections; once passed it only needs to stay below the ACKs.
        if recover < a.ack - 1 { recover = a.ack - 1 }
        return .none
    }

    mutating func onDuplicateAck(_ a: AckSample) -> RecoveryAction {
        duplicateAcks += 1
        if inRecovery {
            // RFC 5681 §3.2 (4): inflate by one segment per duplicate ACK. Each means a segment
            // left the network: with SACK, use it to resend the next hole (RFC 6675 §4).
            cwnd += mss
            return .retransmitNextHole
        }
        // RFC 5681 §3.2 (2), RFC 6582 §3.2 (2): fast retransmit on the third duplicate ACK,
        // only when the ACK covers more than `recover`.
        guard duplicateAcks == 3 && a.ack > recover - 1 else { return .none }
        // RFC 5681 (4) and (3.2) (3): ssthresh = max(FlightSize / 2, 2×SMSS), cwnd = ssthresh + 3×SMSS.
        ssthresh = max(a.flightBefore / 2, 2 * mss)
        cwnd = ssthresh + 3 * mss
        inRecovery = true
        recover = a.highestSent
        return .fastRetransmit
    }

    /// RTO expired (RFC 5681 (4) and §3.1 "loss window" of one segment). RFC 6582 §3.2 (6):
    /// "After a retransmit timeout, record the highest sequence number transmitted in the
    /// variable recover", so duplicate ACKs for data sent before the timeout do not start a
    /// fast retransmit.
    mutating func onRetransmitTimeout(flightSize: Int, highestSent: SequenceNumber) {
        ssthresh = max(flightSize / 2, 2 * mss)
        recover = highestSent
        cwnd = mss
        duplicateAcks = 0
        inRecovery = false
        bytesAckedInAvoidance = 0
    }

    private mutating func grow(acked: Int) {
        duplicateAcks = 0
        if cwnd < ssthresh {
            // RFC 5681 (2): slow start, with appropriate byte counting capped at one SMSS per
            // ACK (RFC 3465 L = 1 SMSS keeps bursts small).
            cwnd += min(acked, mss)
        } else {
            // RFC 5681 (3): congestion avoidance, one SMSS per RTT (byte counting).
            bytesAckedInAvoidance += acked
            if bytesAckedInAvoidance >= cwnd {
                bytesAckedInAvoidance -= cwnd
                cwnd += mss
            }
        }
    }
}
