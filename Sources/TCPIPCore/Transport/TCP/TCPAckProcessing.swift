extension Stack {
    /// The ACK of a segment in a synchronized state (RFC 9293 §3.10.7.4 "fifth"): SND.UNA
    /// moves, acknowledged data leaves the send buffer, the RTT is measured (RFC 6298); loss
    /// recovery and congestion control hear of it through the connection's
    /// `CongestionController`; then the window update rule and the state-specific steps.
    mutating func tcpProcessAck(_ c: inout TCPConnection, _ seg: TCPSegment, effects: inout Effects) {
        let ack = seg.ack
        let window = seg.window(shift: c.sndWindowShift)
        let newlySACKed = ack >= c.sndUna ? tcpUpdateScoreboard(&c, seg) : false
        if ack > c.sndUna {
            // "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK. Any segments on the
            // retransmission queue that are thereby entirely acknowledged are removed."
            let acked = ack - c.sndUna
            let sample = AckSample(
                ack: ack,
                acked: acked,
                dataAcked: min(acked, c.sendBuffer.count),
                flightBefore: c.flightSize,
                highestSent: c.sndMax
            )
            c.sendBuffer.removeFirst(sample.dataAcked)
            c.sndUna = ack
            if c.sndNxt < c.sndUna { c.sndNxt = c.sndUna }
            tcpPruneScoreboard(&c)
            tcpRTTSample(&c, seg, acked: ack)
            c.retransmits = 0
            tcpRecover(&c, c.cc.onAck(sample), effects: &effects)
            // RFC 6298 (5.2)/(5.3): all acknowledged → stop the timer, else restart it.
            c.retransmitAt = c.sndUna == c.sndMax ? nil : now.adding(nanoseconds: c.rtt.rto)
            c.persistBackoff = 0
            if let id = c.owner, sample.dataAcked > 0 { effects.events.append(.changed(id)) }
        } else if ack == c.sndUna && seg.text.isEmpty && !seg.header.flags.contains(.fin) && c.flightSize > 0
            && (window == c.sndWnd || newlySACKed)
        {
            // RFC 5681 §2 "duplicate ACK"; with SACK, RFC 6675 §2 "DupAck": an ACK that SACKs
            // data not SACKed before counts even when the window moved (a receiver whose
            // application reads announces a new window on nearly every ACK).
            context.count(.tcpDuplicateAcksIn)
            let sample = AckSample(ack: ack, acked: 0, dataAcked: 0, flightBefore: c.flightSize, highestSent: c.sndMax)
            tcpRecover(&c, c.cc.onDuplicateAck(sample), effects: &effects)
        }
        // Window update: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated.
        // If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))".
        if c.sndWl1 < seg.seq || (c.sndWl1 == seg.seq && c.sndWl2 <= ack) {
            if window != c.sndWnd { trace(.tcpWindowChanged(local: c.tuple.localPort, window: window)) }
            c.sndWnd = window
            c.maxSndWnd = max(c.maxSndWnd, window)
            c.sndWl1 = seg.seq
            c.sndWl2 = ack
            if window > 0 { c.persistAt = nil }
        }
        // State-specific ACK processing.
        switch c.state {
        case .finWait1:
            // "if the FIN segment is now acknowledged, then enter FIN-WAIT-2".
            if c.finAcked {
                tcpSetState(&c, .finWait2, effects: &effects)
                if c.fd == nil { c.finWait2At = now.adding(nanoseconds: configuration.tcp.finWait2Timeout) }
            }
        case .closing:
            // "if the ACK acknowledges our FIN then enter the TIME-WAIT state".
            if c.finAcked { tcpSetState(&c, .timeWait, effects: &effects) }
        case .lastAck:
            // "The only thing that can arrive in this state is an acknowledgment of our FIN. If
            // our FIN is now acknowledged, delete the TCB, enter the CLOSED state, and return."
            if c.finAcked { tcpSetState(&c, .closed, effects: &effects) }
        default: break
        }
    }

    /// Carries out what the congestion controller asked for.
    mutating func tcpRecover(_ c: inout TCPConnection, _ action: RecoveryAction, effects: inout Effects) {
        switch action {
        case .none: break
        case .fastRetransmit:
            context.count(.tcpFastRetransmits)
            trace(.tcpFastRetransmit(local: c.tuple.localPort, seq: c.sndUna.rawValue))
            tcpRetransmitFirst(&c, effects: &effects)
        case .retransmitFirst:
            tcpRetransmitFirst(&c, effects: &effects)
        case .retransmitNextHole:
            tcpRetransmitNextHole(&c, effects: &effects)
        }
    }

    /// An RTT sample from the timestamp echo or the timed segment (RFC 6298 §3 with Karn's
    /// algorithm; RFC 7323 §4.1).
    mutating func tcpRTTSample(_ c: inout TCPConnection, _ seg: TCPSegment, acked: SequenceNumber) {
        if c.timestamps, let ts = seg.header.options.timestamps, ts.echoReply != 0, c.retransmits == 0 {
            let ms = Int64(Int32(bitPattern: tcpTimestamp(c) &- ts.echoReply))
            if ms >= 0 {
                // RFC 7323 §4.1: timestamp ticks (1 ms here), counted as half a tick more.
                let rtt = max(ms, 0) * 1_000_000 + 500_000
                c.rtt.sample(rtt)
                c.rttSequence = nil
                // Traced like the timed-segment sample below: with timestamps on (the default)
                // this is the only path, and RFC 6298 measurements would otherwise go unseen.
                trace(.tcpRTTMeasured(local: c.tuple.localPort, rtt: rtt, rto: c.rtt.rto))
                return
            }
        }
        if let s = c.rttSequence, acked >= s {
            c.rtt.sample(now.nanoseconds(since: c.rttStart))
            c.rttSequence = nil
            trace(.tcpRTTMeasured(local: c.tuple.localPort, rtt: now.nanoseconds(since: c.rttStart), rto: c.rtt.rto))
        }
    }

    /// Our timestamp clock: milliseconds, offset per connection (RFC 7323 §5.4).
    func tcpTimestamp(_ c: TCPConnection) -> UInt32 {
        UInt32(truncatingIfNeeded: now.nanoseconds / 1_000_000) &+ c.tsOffset
    }
}
