/// NewReno congestion control: slow start and congestion avoidance (RFC 5681 §3.1), fast
/// retransmit and fast recovery (RFC 5681 §3.2) with NewReno's partial acknowledgments
/// (RFC 6582), and an initial window of 10 segments (RFC 6928).
struct CongestionControl {
    /// Congestion window in bytes.
    var cwnd: Int
    /// Slow-start threshold in bytes; `Int.max` until the first loss ("arbitrarily high", RFC 5681 §3.1).
    var ssthresh = Int.max
    /// Sender MSS.
    var mss: Int
    /// Duplicate ACKs in a row.
    var duplicateAcks = 0
    /// In fast recovery until an ACK covers `recover` (RFC 6582 §3.2).
    var inFastRecovery = false
    /// The highest sequence number sent when recovery began (RFC 6582 "recover").
    var recover = SequenceNumber(0)
    /// Bytes acknowledged in congestion avoidance not yet turned into window growth.
    var bytesAckedInAvoidance = 0

    init(mss: Int, initialWindowSegments: Int) {
        self.mss = mss
        cwnd = Self.initialWindow(mss: mss, segments: initialWindowSegments)
    }

    /// RFC 6928 §2: min(10×MSS, max(2×MSS, 14600)) for 10 segments; RFC 5681 (3.1) otherwise.
    static func initialWindow(mss: Int, segments: Int) -> Int {
        if segments >= 10 { return min(segments * mss, max(2 * mss, 14600)) }
        return max(1, segments) * mss
    }

    /// New data was acknowledged (not a duplicate) and recovery is not in progress.
    mutating func onNewAck(acked: Int) {
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

    /// RFC 5681 (4): ssthresh after a loss is max(FlightSize / 2, 2×SMSS).
    mutating func reduceThreshold(flightSize: Int) {
        ssthresh = max(flightSize / 2, 2 * mss)
    }

    /// Third duplicate ACK: enter fast recovery (RFC 5681 §3.2 (2)-(3), RFC 6582 §3.2 (2)).
    mutating func enterFastRecovery(flightSize: Int, highestSent: SequenceNumber) {
        reduceThreshold(flightSize: flightSize)
        cwnd = ssthresh + 3 * mss
        inFastRecovery = true
        recover = highestSent
    }

    /// RTO expired (RFC 5681 (4) and §3.1 "loss window" of one segment). RFC 6582 §3.2 (6):
    /// "After a retransmit timeout, record the highest sequence number transmitted in the
    /// variable recover", so duplicate ACKs for data sent before the timeout do not start a
    /// fast retransmit.
    mutating func onTimeout(flightSize: Int, highestSent: SequenceNumber) {
        reduceThreshold(flightSize: flightSize)
        recover = highestSent
        cwnd = mss
        duplicateAcks = 0
        inFastRecovery = false
        bytesAckedInAvoidance = 0
    }

    /// The effective window is never below one segment.
    var window: Int { max(cwnd, mss) }
}
