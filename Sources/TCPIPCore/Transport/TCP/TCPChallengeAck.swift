extension Stack {
    /// RFC 5961 §7: challenge ACKs are rate-limited.
    mutating func tcpChallengeAck(_ c: inout TCPConnection, effects: inout Effects) {
        // Per connection first (so the global count reveals nothing about other connections,
        // the side channel of CVE-2016-5696), then the global limit.
        guard tcpOutOfWindowAckAllowed(&c), tcp.challengeAcks.take(now: now) else {
            return drop(.tcpChallengeAckLimited)
        }
        context.count(.tcpChallengeAcks)
        tcpSendAck(&c, effects: &effects)
    }

    /// The ACK answering an unacceptable segment (RFC 9293 §3.10.7.4), at most one per
    /// `outOfWindowAckInterval` per connection (Linux's tcp_oow_rate_limited), so that a blind
    /// sender cannot make the stack answer every segment it forges.
    mutating func tcpOutOfWindowAck(_ c: inout TCPConnection, effects: inout Effects) {
        guard tcpOutOfWindowAckAllowed(&c) else { return drop(.tcpOutOfWindowAckLimited) }
        tcpSendAck(&c, effects: &effects)
    }

    func tcpOutOfWindowAckAllowed(_ c: inout TCPConnection) -> Bool {
        if let last = c.lastOutOfWindowAck, now.nanoseconds(since: last) < configuration.tcp.outOfWindowAckInterval {
            return false
        }
        c.lastOutOfWindowAck = now
        return true
    }
}
