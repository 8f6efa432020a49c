import HeapModule

extension Stack {
    /// Fires every TCP timer due by now: retransmission (RFC 6298 §5), persist (RFC 9293
    /// §3.8.6.1), delayed ACK (§3.8.6.3), keepalive (§3.8.4), FIN-WAIT-2 and TIME-WAIT (§3.4.2).
    mutating func tcpTimers(effects: inout Effects) {
        var budget = 100_000
        while budget > 0, let top = tcp.timers.min, top.due <= now {
            budget -= 1
            _ = tcp.timers.popMin()
            let slot = top.slot
            guard slot < tcp.slots.count, tcp.generations[slot] == top.generation, tcp.scheduled[slot] == top.due,
                var c = tcp.slots[slot].take()
            else { continue }
            tcp.scheduled[slot] = nil
            tcpFire(&c, effects: &effects)
            tcpStore(consume c, slot: slot, effects: &effects)
        }
        // Entries go stale when a timer moves later; rebuild the heap from the live slots
        // before they could outnumber the connections.
        if tcp.timers.count > 2 * tcp.slots.count + 1024 {
            var fresh: [TCPTimerEntry] = []
            for slot in tcp.slots.indices {
                guard let c = tcp.slots[slot], let next = c.nextTimer else {
                    tcp.scheduled[slot] = nil
                    continue
                }
                tcp.scheduled[slot] = next
                fresh.append(TCPTimerEntry(due: next, slot: slot, generation: c.generation))
            }
            tcp.timers = Heap(fresh)
        }
    }

    /// The earliest TCP timer (possibly a stale one: waking early is harmless).
    var tcpNextDeadline: Instant? { tcp.timers.min?.due }

    mutating func tcpFire(_ c: inout TCPConnection, effects: inout Effects) {
        if let t = c.timeWaitAt, t <= now {
            c.timeWaitAt = nil
            tcpSetState(&c, .closed, effects: &effects)
            return
        }
        if let t = c.finWait2At, t <= now {
            c.finWait2At = nil
            if c.state == .finWait2 && c.fd == nil {
                tcpSetState(&c, .closed, effects: &effects)
                return
            }
        }
        if let t = c.retransmitAt, t <= now {
            c.retransmitAt = nil
            tcpRetransmitTimeout(&c, effects: &effects)
            if c.state == .closed { return }
        }
        if let t = c.persistAt, t <= now {
            c.persistAt = nil
            if c.sndWnd == 0 && c.unsentBytes > 0 {
                // A zero-window probe forces an ACK that carries the current window. Answered
                // probes never abort (RFC 1122 §4.2.2.17); a peer that answers none of `retries`
                // probes is gone (Linux's tcp_probe_timer gives up after tcp_retries2).
                // An orphan (closed by its application) gets no such patience: a peer that
                // keeps its window shut while answering would otherwise hold it forever.
                if c.unansweredProbes >= configuration.tcp.retries
                    || (c.fd == nil && c.persistBackoff >= configuration.tcp.retries)
                {
                    context.count(.tcpTimeouts)
                    tcpAbort(&c, error: .ETIMEDOUT, sendReset: false, effects: &effects)
                    return
                }
                tcpSendWindowProbe(&c, effects: &effects)
                c.unansweredProbes += 1
                c.persistBackoff += 1
                c.persistAt = now.adding(nanoseconds: tcpPersistInterval(c))
            } else {
                tcpOutput(&c, overrideSWS: true, effects: &effects)
            }
        }
        if let t = c.delayedAckAt, t <= now {
            c.delayedAckAt = nil
            c.ackNow = true
            context.count(c.ackCoalesced ? .tcpCoalescedAcks : .tcpDelayedAcks)
            c.ackCoalesced = false
            tcpOutput(&c, effects: &effects)
        }
        if let t = c.keepaliveAt, t <= now {
            c.keepaliveAt = nil
            tcpKeepalive(&c, effects: &effects)
        }
    }

    /// RFC 6298 (5.4)-(5.7): retransmit the earliest unacknowledged segment, back off the
    /// timer, collapse the congestion window (RFC 5681 (4)); give up after the configured
    /// number of retries with ETIMEDOUT (RFC 1122 §4.2.3.5).
    mutating func tcpRetransmitTimeout(_ c: inout TCPConnection, effects: inout Effects) {
        let limit: Int
        switch c.state {
        case .synSent: limit = configuration.tcp.synRetries
        case .synReceived: limit = configuration.tcp.synAckRetries
        default: limit = configuration.tcp.retries
        }
        // The peer shrank its window to zero with data outstanding: our retransmissions are now
        // its window probes, and while it answers them the connection stays open (RFC 1122
        // §4.2.2.17: "As long as the receiving TCP continues to send acknowledgments in response
        // to the probe segments, the sending TCP MUST allow the connection to stay open"). As
        // Linux's tcp_retransmit_timer: give up only when nothing came for the largest RTO, and
        // never keep an orphan this way.
        let zeroWindowProbe = c.sndWnd == 0 && c.state.isSynchronized && c.fd != nil
        var expired = c.retransmits >= limit
        if zeroWindowProbe && now.nanoseconds(since: c.lastSegmentAt) <= configuration.tcp.maxRTO { expired = false }
        if c.userTimeout > 0 && c.retransmits > 0 && now.nanoseconds(since: c.lastSegmentAt) >= c.userTimeout {
            expired = true
        }
        if expired {
            context.count(.tcpTimeouts)
            if c.state == .synReceived && c.passive {
                tcpDetachFromListener(&c)
                tcpSetState(&c, .closed, effects: &effects)
            } else {
                // RFC 9293 §3.10.8 / RFC 1122 §4.2.3.5: the connection is closed and the user told;
                // no RST goes to a peer that does not answer (Linux's tcp_write_err sends none).
                tcpAbort(&c, error: .ETIMEDOUT, sendReset: false, effects: &effects)
            }
            return
        }
        c.retransmits += 1
        c.rtt.backoff()
        c.rttSequence = nil
        context.count(.tcpRetransmitTimeouts)
        trace(.tcpRetransmitTimeout(local: c.tuple.localPort, seq: c.sndUna.rawValue, rto: c.rtt.rto))
        switch c.state {
        case .synSent, .synReceived:
            context.count(.tcpRetransmittedSegments)
            c.retransmitsTotal += 1
            tcpSendSYN(&c, effects: &effects)
            c.retransmitAt = now.adding(nanoseconds: c.rtt.rto)
        default:
            c.cc.onRetransmitTimeout(flightSize: c.flightSize, highestSent: c.sndMax)
            // After a timeout everything unacknowledged is sent again; the SACK information
            // may be stale (the receiver may renege, RFC 2018 §8).
            c.sacked.removeAll()
            c.highRxt = c.sndUna
            // Go back to SND.UNA and send again from there.
            c.sndNxt = c.sndUna
            if zeroWindowProbe {
                // Past the zero window: the first segment again is the probe (RFC 9293 §3.8.6.1).
                tcpRetransmitFirst(&c, effects: &effects)
            } else {
                tcpOutput(&c, effects: &effects)
            }
            c.retransmitAt = now.adding(nanoseconds: c.rtt.rto)
        }
    }

    /// A window probe or keepalive: <SEQ=SND.UNA−1><ACK=RCV.NXT>, no data, which the peer
    /// must answer with an ACK (RFC 9293 §3.8.4, §3.10.7.4 unacceptable segment).
    mutating func tcpSendWindowProbe(_ c: inout TCPConnection, effects: inout Effects) {
        context.count(.tcpWindowProbes)
        tcpTransmit(&c, seq: c.sndUna - 1, flags: [.ack], offset: 0, length: 0, effects: &effects)
    }

    /// Keepalive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): after `keepIdle` of silence, probe
    /// every `keepInterval`; `keepCount` unanswered probes end the connection with ETIMEDOUT.
    mutating func tcpKeepalive(_ c: inout TCPConnection, effects: inout Effects) {
        guard c.keepAlive, c.state == .established || c.state == .closeWait else { return }
        let idle = now.nanoseconds(since: c.lastSegmentAt)
        if idle < c.keepIdle {
            c.keepaliveProbes = 0
            c.keepaliveAt = c.lastSegmentAt.adding(nanoseconds: c.keepIdle)
            return
        }
        if c.keepaliveProbes >= c.keepCount {
            tcpAbort(&c, error: .ETIMEDOUT, sendReset: true, effects: &effects)
            return
        }
        c.keepaliveProbes += 1
        context.count(.tcpKeepaliveProbes)
        tcpTransmit(&c, seq: c.sndUna - 1, flags: [.ack], offset: 0, length: 0, effects: &effects)
        c.keepaliveAt = now.adding(nanoseconds: c.keepInterval)
    }
}
