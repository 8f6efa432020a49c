/// Whether the processing of a segment goes on to the next step of RFC 9293 §3.10.7.4.
enum TCPStep {
    /// Go on to the next check.
    case next
    /// The segment has been dealt with (dropped, answered or consumed): stop here.
    case done
}

extension Stack {
    /// SEGMENT ARRIVES for a connection that exists (RFC 9293 §3.10.7.3 and §3.10.7.4), one
    /// function per check, in the RFC's order and with its names. Returns true when a new SYN
    /// ended a TIME-WAIT connection and should be handed to the listener.
    mutating func tcpSegmentArrives(_ c: inout TCPConnection, _ seg: inout TCPSegment, effects: inout Effects) -> Bool {
        if c.state == .synSent {
            tcpSynSentInput(&c, seg, effects: &effects)
            return false
        }
        // Before the checks: the cases the RFCs name apart from them.
        if tcpTimeWaitAcceptsNewSYN(&c, seg, effects: &effects) { return true }
        guard tcpSynReceivedDuplicateSYN(&c, &seg, effects: &effects) == .next,
            tcpPAWS(&c, seg, effects: &effects) == .next,
            tcpFirstCheckSequenceNumber(&c, &seg, effects: &effects) == .next,
            tcpSecondCheckRST(&c, seg, effects: &effects) == .next
        else { return false }
        // "third check security": RFC 9293 §3.10.7.4 and RFC 9293 §3.9.2 — this stack keeps no
        // security compartments (the IP security option is obsolete, RFC 6814), so the check
        // is not applicable and every segment passes it.
        guard tcpFourthCheckSYN(&c, seg, effects: &effects) == .next,
            tcpFifthCheckACK(&c, seg, effects: &effects) == .next
        else { return false }
        // "sixth, check the URG bit": urgent data is delivered in-band, as RFC 6093 §4
        // recommends (SO_OOBINLINE behaviour); the urgent pointer is not acted on.
        guard tcpSeventhProcessText(&c, seg, effects: &effects) == .next else { return false }
        tcpEighthCheckFIN(&c, seg, effects: &effects)
        tcpOutput(&c, effects: &effects)
        return false
    }

    /// A new connection attempt for a connection in TIME-WAIT is accepted when its sequence
    /// number is above what the old incarnation used (RFC 9293 §3.10.7.4 "TIME-WAIT STATE",
    /// RFC 1122 §4.2.2.13; RFC 6191 extends the rule with timestamps). True: the old
    /// incarnation is closed and the SYN goes to the listener.
    @inline(__always) mutating func tcpTimeWaitAcceptsNewSYN(
        _ c: inout TCPConnection,
        _ seg: TCPSegment,
        effects: inout Effects
    ) -> Bool {
        guard c.state == .timeWait, seg.flags.contains(.syn), !seg.flags.contains(.ack), !seg.flags.contains(.rst),
            seg.seq > c.rcvNxt
        else { return false }
        tcpSetState(&c, .closed, effects: &effects)
        return true
    }

    /// A SYN in SYN-RECEIVED with the initial sequence number we acknowledged (RFC 9293
    /// §3.10.7.4 "fourth", §3.5 figure 8): either the SYN,ACK of a simultaneous open — its SYN
    /// is the one already acknowledged and its ACK completes the handshake — or a
    /// retransmitted SYN, answered with our SYN,ACK again.
    @inline(__always) mutating func tcpSynReceivedDuplicateSYN(
        _ c: inout TCPConnection,
        _ seg: inout TCPSegment,
        effects: inout Effects
    ) -> TCPStep {
        guard c.state == .synReceived, seg.flags.contains(.syn), seg.seq == c.irs, !seg.flags.contains(.rst) else {
            return .next
        }
        if seg.flags.contains(.ack) && c.sndUna < seg.ack && seg.ack <= c.sndMax {
            seg.flags.remove(.syn)
            seg.seq = seg.seq + 1
            return .next
        }
        // Our SYN,ACK was lost: send it again.
        context.count(.tcpDuplicateSYN)
        tcpSendSYN(&c, effects: &effects)
        return .done
    }

    /// RFC 7323 §5.3 (PAWS): a segment whose timestamp is older than TS.Recent is a duplicate
    /// from an earlier wrap; acknowledge and drop it (unless it is a RST). TS.Recent older than
    /// 24 days is invalid (RFC 7323 §5.5).
    @inline(__always) mutating func tcpPAWS(
        _ c: inout TCPConnection,
        _ seg: TCPSegment,
        effects: inout Effects
    ) -> TCPStep {
        guard c.timestamps, let ts = seg.header.options.timestamps, !seg.flags.contains(.rst) else { return .next }
        let stale = Int32(bitPattern: ts.value &- c.tsRecent) < 0
        guard stale && now.nanoseconds(since: c.tsRecentAge) < 24 * 86_400 * 1_000_000_000 else { return .next }
        drop(.tcpPAWS)
        tcpOutOfWindowAck(&c, effects: &effects)
        return .done
    }
}
