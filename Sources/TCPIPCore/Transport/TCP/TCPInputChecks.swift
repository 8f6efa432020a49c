extension Stack {
    /// "first check sequence number" (RFC 9293 §3.10.7.4): the acceptability test of the
    /// segment against the receive window, then trimming it to the window.
    @inline(__always) mutating func tcpFirstCheckSequenceNumber(
        _ c: inout TCPConnection,
        _ seg: inout TCPSegment,
        effects: inout Effects
    ) -> TCPStep {
        let window = max(0, c.rcvAdvertised - c.rcvNxt)
        let segLen = seg.length
        var acceptable: Bool
        if segLen == 0 {
            // RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND (RCV.WND = 0: SEG.SEQ = RCV.NXT), with the
            // right edge itself allowed for an ACK, as Linux's tcp_sequence does: a peer that
            // has sent up to the edge and lost a segment sends every ACK from there, and
            // refusing them would ignore all it acknowledges until its retransmission timer
            // fires. A RST keeps the strict window (RFC 5961 §3.2: outside it, silently dropped).
            let edge = seg.flags.contains(.rst) ? 0 : 1
            acceptable = seg.seq.isInWindow(start: c.rcvNxt, length: window + edge)
        } else if window == 0 {
            // "If the RCV.WND is zero, no segments will be acceptable, but special allowance
            // should be made to accept valid ACKs, URGs, and RSTs": take the segment's control
            // information, not its data.
            acceptable = seg.seq == c.rcvNxt
            if acceptable {
                seg.trimBack(to: 0)
                // The data is still "not acceptable": answer it with an ACK that carries the
                // window (a zero-window probe must be answered, RFC 9293 §3.8.6.1).
                c.ackNow = true
            }
        } else {
            acceptable =
                seg.seq.isInWindow(start: c.rcvNxt, length: window)
                || (seg.seq + (segLen - 1)).isInWindow(start: c.rcvNxt, length: window)
        }
        guard acceptable else {
            // "If an incoming segment is not acceptable, an acknowledgment should be sent in
            // reply (unless the RST bit is set ...)". In TIME-WAIT this re-acknowledges a
            // retransmitted FIN and restarts the 2 MSL timeout.
            drop(.tcpOutOfWindow)
            if !seg.flags.contains(.rst) {
                if c.state == .timeWait && seg.flags.contains(.fin) {
                    c.timeWaitAt = now.adding(nanoseconds: configuration.tcp.timeWait)
                    tcpSendAck(&c, effects: &effects)
                } else {
                    tcpOutOfWindowAck(&c, effects: &effects)
                }
            }
            return .done
        }
        // Trim to the window: drop what was received before, and what lies beyond the window
        // ("segments with higher beginning sequence numbers ... trimmed"). Only the
        // SYN-RECEIVED handshake strips an old SYN here; in a synchronized state a SYN gets a
        // challenge ACK "irrespective of the sequence number" (RFC 5961 §4.2).
        if seg.flags.contains(.syn) && seg.seq < c.rcvNxt && !c.state.isSynchronized {
            seg.flags.remove(.syn)
            seg.seq = seg.seq + 1
        }
        let before = c.rcvNxt - seg.seq
        if before > 0 {
            let k = min(before, seg.text.count)
            seg.trimFront(k)
            if before > k { seg.flags.remove(.fin) }
        }
        let room = window - max(0, seg.seq - c.rcvNxt)
        if seg.text.count > room { seg.trimBack(to: max(0, room)) }
        return .next
    }

    /// "second check the RST bit" (RFC 9293 §3.10.7.4) with RFC 5961 §3.2: only a RST at
    /// exactly RCV.NXT resets; any other RST in the window gets a challenge ACK.
    @inline(__always) mutating func tcpSecondCheckRST(
        _ c: inout TCPConnection,
        _ seg: TCPSegment,
        effects: inout Effects
    ) -> TCPStep {
        guard seg.flags.contains(.rst) else { return .next }
        guard seg.receivedSeq == c.rcvNxt else {
            tcpChallengeAck(&c, effects: &effects)
            return .done
        }
        context.count(.tcpResetsIn)
        switch c.state {
        case .synReceived:
            if c.passive {
                // "If this connection was initiated with a passive OPEN, then return this
                // connection to the LISTEN state": the listener forgets the embryo.
                tcpDetachFromListener(&c)
                tcpSetState(&c, .closed, effects: &effects)
            } else {
                // "If this connection was initiated with an active OPEN ... connection refused".
                tcpAbort(&c, error: .ECONNREFUSED, sendReset: false, effects: &effects)
            }
        case .established, .finWait1, .finWait2, .closeWait:
            // "any outstanding RECEIVEs and SEND should receive 'reset' responses".
            tcpAbort(&c, error: .ECONNRESET, sendReset: false, effects: &effects)
        default:
            // CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state, delete the TCB".
            tcpSetState(&c, .closed, effects: &effects)
        }
        return .done
    }

    /// "fourth, check the SYN bit" (RFC 9293 §3.10.7.4 and RFC 5961 §4.2): a SYN in a
    /// synchronized state gets a challenge ACK; in SYN-RECEIVED after a passive open the
    /// connection returns to LISTEN.
    @inline(__always) mutating func tcpFourthCheckSYN(
        _ c: inout TCPConnection,
        _ seg: TCPSegment,
        effects: inout Effects
    ) -> TCPStep {
        guard seg.flags.contains(.syn) else { return .next }
        if c.state == .synReceived && c.passive {
            tcpDetachFromListener(&c)
            tcpSetState(&c, .closed, effects: &effects)
        } else {
            tcpChallengeAck(&c, effects: &effects)
        }
        return .done
    }

    /// "fifth check the ACK field" (RFC 9293 §3.10.7.4): completes the handshake in
    /// SYN-RECEIVED, drops unacceptable ACKs (RFC 5961 §5.2), then processes the ACK.
    @inline(__always) mutating func tcpFifthCheckACK(
        _ c: inout TCPConnection,
        _ seg: TCPSegment,
        effects: inout Effects
    ) -> TCPStep {
        // "if the ACK bit is off, drop the segment and return".
        guard seg.flags.contains(.ack) else {
            drop(.tcpNoACK)
            return .done
        }
        if c.state == .synReceived {
            // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state ... If the segment
            // acknowledgment is not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST>."
            guard c.sndUna < seg.ack && seg.ack <= c.sndMax else {
                tcpSendReset(to: seg, seq: seg.ack, ack: nil, effects: &effects)
                return .done
            }
            c.sndWnd = seg.window(shift: c.sndWindowShift)
            c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
            c.sndWl1 = seg.seq
            c.sndWl2 = seg.ack
            // RFC 6298 (5.7): after the SYN,ACK timed out, RTO is 3 s once data flows.
            if c.retransmits > 0 { c.rtt.reinitializeAfterSYNTimeout() }
            tcpSetState(&c, .established, effects: &effects)
            tcpEstablished(&c, effects: &effects)
        }
        // RFC 5961 §5.2: an ACK outside [SND.UNA − MAX.SND.WND, SND.NXT] is dropped with a
        // challenge ACK; RFC 9293: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT)
        // then send an ACK, drop the segment, and return."
        if seg.ack > c.sndMax {
            drop(.tcpAckUnsent)
            tcpSendAck(&c, effects: &effects)
            return .done
        }
        if seg.ack < c.sndUna - max(c.maxSndWnd, 1) {
            drop(.tcpAckTooOld)
            tcpChallengeAck(&c, effects: &effects)
            return .done
        }
        // RFC 7323 §4.3 (2): TS.Recent follows the segment that covers Last.ACK.sent.
        if c.timestamps, let ts = seg.header.options.timestamps, seg.seq <= c.lastAckSent,
            Int32(bitPattern: ts.value &- c.tsRecent) >= 0
        {
            c.tsRecent = ts.value
            c.tsRecentAge = now
        }
        // The peer is alive: only a segment that passed every check says so, or a spoofed
        // out-of-window segment would keep a dead connection from ever timing out.
        c.lastSegmentAt = now
        c.unansweredProbes = 0
        tcpProcessAck(&c, seg, effects: &effects)
        return c.state == .closed ? .done : .next
    }

    /// "seventh, process the segment text" (RFC 9293 §3.10.7.4).
    @inline(__always) mutating func tcpSeventhProcessText(
        _ c: inout TCPConnection,
        _ seg: TCPSegment,
        effects: inout Effects
    ) -> TCPStep {
        guard !seg.text.isEmpty else { return .next }
        guard c.state.receivesData else {
            // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "This should not occur since a FIN has
            // been received from the remote side. Ignore the segment text."
            c.ackNow = true
            return .next
        }
        if !c.readShut {
            tcpReceiveData(&c, seq: seg.seq, seg.text, effects: &effects)
        } else if c.fd == nil {
            // Data for a connection the application has closed: RFC 9293 §3.10.4 / RFC 2525
            // §2.17 — reset it.
            tcpAbort(&c, error: nil, sendReset: true, effects: &effects)
            return .done
        } else if seg.seq == c.rcvNxt {
            // Shut down for reading: in-order data is acknowledged and thrown away, as Linux
            // does, so the peer does not retransmit it until it gives up.
            c.rcvNxt = c.rcvNxt + seg.text.count
            c.ackNow = true
        } else {
            c.ackNow = true
        }
        return .next
    }

    /// "eighth, check the FIN bit" (RFC 9293 §3.10.7.4): a FIN in order is taken now, one
    /// behind a hole when the hole fills.
    @inline(__always) mutating func tcpEighthCheckFIN(
        _ c: inout TCPConnection,
        _ seg: TCPSegment,
        effects: inout Effects
    ) {
        guard seg.flags.contains(.fin) else { return }
        let finAt = seg.seq + seg.text.count
        if finAt == c.rcvNxt {
            tcpReceiveFIN(&c, effects: &effects)
        } else if c.state.receivesData {
            // A FIN behind a hole: remember it until the hole fills.
            c.pendingFin = finAt
            c.ackNow = true
        }
    }
}
