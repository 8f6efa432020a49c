/// The retransmission timeout per RFC 6298, in nanoseconds.
///
/// - (2.1) Until a round-trip time has been measured, RTO is `initialRTO` (1 s).
/// - (2.2) The first measurement R sets SRTT = R, RTTVAR = R/2.
/// - (2.3) Each later measurement R' sets RTTVAR = (1 − β)·RTTVAR + β·|SRTT − R'| (with the old
///   SRTT), then SRTT = (1 − α)·SRTT + α·R', with α = 1/8, β = 1/4.
/// - After (2.2) and (2.3), RTO = SRTT + max(G, K·RTTVAR) with K = 4 and clock granularity G.
/// - (2.4) RTO below the minimum is rounded up. The RFC's minimum is 1 s, a SHOULD; we follow
///   Linux (`TCP_RTO_MIN`) with 200 ms, which the SHOULD permits and which recovers from loss
///   far sooner on the short paths this stack mostly runs over.
/// - (2.5) RTO may be capped at a maximum of at least 60 s; we use Linux's 120 s.
/// - (5.5) Each expiry of the retransmission timer doubles RTO ("back off the timer"), still
///   capped by the maximum; a new measurement (5.7 context, Karn's algorithm is the caller's
///   job: sample only segments that were not retransmitted, RFC 6298 §3) ends the backoff.
///
/// Integer nanoseconds throughout; samples are clamped to 0 ... 2^50 ns (~13 days) so no
/// arithmetic here can overflow, whatever the caller feeds in.
struct RTTEstimator {
    /// RTO before any measurement, (2.1).
    let initialRTO: Int64
    /// Lower bound on RTO, (2.4).
    let minRTO: Int64
    /// Upper bound on RTO, (2.5).
    let maxRTO: Int64
    /// Clock granularity G, (2.2)/(2.3).
    let granularity: Int64

    /// Smoothed round-trip time; nil until the first measurement.
    private(set) var srtt: Int64?
    /// Round-trip time variation (0 until the first measurement).
    private(set) var rttvar: Int64 = 0
    /// The current RTO, including any backoff: the value to arm the retransmission timer with.
    private(set) var rto: Int64
    /// The RTO from (2.1)–(2.5), without backoff.
    private(set) var baseRTO: Int64
    /// How many times (5.5) has doubled the RTO since the last measurement or reset.
    private(set) var backoffs: Int = 0

    /// K in (2.2)/(2.3).
    static let k: Int64 = 4
    /// The largest sample taken at face value.
    static let maxSample: Int64 = 1 << 50

    init(
        initialRTO: Int64 = 1_000_000_000,
        minRTO: Int64 = 200_000_000,
        maxRTO: Int64 = 120_000_000_000,
        granularity: Int64 = 1_000_000
    ) {
        self.minRTO = Swift.max(minRTO, 0)
        self.maxRTO = Swift.min(Swift.max(maxRTO, self.minRTO), Self.maxSample)
        self.granularity = Swift.min(Swift.max(granularity, 0), Self.maxSample)
        self.initialRTO = initialRTO
        baseRTO = 0
        rto = 0
        baseRTO = clamp(initialRTO)
        rto = baseRTO
    }

    /// (2.4)/(2.5): bounds any computed RTO to minRTO ... maxRTO.
    private func clamp(_ v: Int64) -> Int64 { Swift.min(Swift.max(v, minRTO), maxRTO) }

    /// Feeds one round-trip measurement `rtt` (ns): (2.2) for the first, (2.3) after that, then
    /// RTO = SRTT + max(G, K·RTTVAR) bounded by (2.4)/(2.5). Ends any backoff.
    mutating func sample(_ rtt: Int64) {
        let r = Swift.min(Swift.max(rtt, 0), Self.maxSample)
        if let s = srtt {
            // (2.3): RTTVAR first, using the SRTT from before this sample.
            let err = s > r ? s - r : r - s
            rttvar = (3 * rttvar + err) / 4
            srtt = (7 * s + r) / 8
        } else {
            // (2.2)
            srtt = r
            rttvar = r / 2
        }
        baseRTO = clamp((srtt ?? r) + Swift.max(granularity, Self.k * rttvar))
        resetBackoff()
    }

    /// (5.5): the retransmission timer expired; double RTO, at most maxRTO (2.5).
    mutating func backoff() {
        rto = rto > maxRTO / 2 ? maxRTO : rto * 2
        if backoffs < Int.max { backoffs += 1 }
    }

    /// Drops the backoff: RTO returns to the value from the last measurement (or (2.1)).
    mutating func resetBackoff() {
        rto = baseRTO
        backoffs = 0
    }

    /// (5.7): "If the timer expires awaiting the ACK of a SYN segment and the TCP implementation
    /// is using an RTO less than 3 seconds, the RTO MUST be re-initialized to 3 seconds when data
    /// transmission begins (i.e., after the three-way handshake completes)." Call when the
    /// handshake completes after a SYN or SYN-ACK retransmission. Applies only while no RTT has
    /// been measured (a timestamp sample from the handshake supersedes it); still capped by (2.5).
    /// A later measurement replaces it.
    mutating func reinitializeAfterSYNTimeout() {
        if srtt == nil {
            baseRTO = Swift.min(Swift.max(baseRTO, 3_000_000_000), maxRTO)
        }
        resetBackoff()
    }
}
