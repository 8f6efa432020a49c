extension Stack {
    /// LISTEN (RFC 9293 §3.10.7.2).
    mutating func tcpListenInput(_ lfd: Int32, _ seg: TCPSegment, effects: inout Effects) {
        // "first check for a RST": an incoming RST is ignored.
        if seg.flags.contains(.rst) { return drop(.tcpListenRST) }
        // "second check for an ACK": any acknowledgment is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>.
        if seg.flags.contains(.ack) { return tcpSendReset(to: seg, seq: seg.ack, ack: nil, effects: &effects) }
        // "third check for a SYN".
        guard seg.flags.contains(.syn) else { return drop(.tcpListenNoSYN) }
        guard var listener = sockets[lfd] else { return }
        guard var ls = listener.tcp.listen else { return }
        guard ls.embryonic < configuration.tcp.synQueueLimit, ls.acceptQueue.count < ls.backlog else {
            return drop(.tcpListenOverflow)
        }
        guard var route = route(to: seg.source) else { return drop(.ipNoRoute) }
        route.source = seg.destination
        let tuple = TCPFourTuple(
            localAddress: seg.destination,
            localPort: seg.header.destinationPort,
            remoteAddress: seg.source,
            remotePort: seg.header.sourcePort
        )
        let iss =
            tcp.issOverride
            ?? tcp.isn.generate(
                localAddress: tuple.localAddress,
                localPort: tuple.localPort,
                remoteAddress: tuple.remoteAddress,
                remotePort: tuple.remotePort,
                now: now
            )
        var c = tcpNewConnection(
            tuple: tuple,
            route: route,
            iss: iss,
            passive: true,
            options: listener.options,
            effects: &effects
        )
        c.listener = lfd
        // "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ" (any data on the SYN is not
        // acknowledged and will be sent again).
        c.irs = seg.seq
        c.rcvNxt = seg.seq + 1
        c.rcvAdvertised = c.rcvNxt
        tcpNegotiateOptions(&c, seg.header.options)
        // The window of a SYN is never scaled (RFC 7323 §2.2).
        c.sndWnd = Int(seg.header.window)
        c.maxSndWnd = c.sndWnd
        c.sndWl1 = seg.seq
        c.sndWl2 = c.iss
        c.state = .synReceived
        // "<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> is sent. SND.NXT is set to ISS+1 and SND.UNA to ISS."
        tcpSendSYN(&c, effects: &effects)
        ls.embryonic += 1
        listener.tcp.listen = ls
        sockets[lfd] = listener
        let slot = tcp.insert(c)
        trace(
            .tcpStateChanged(
                local: tuple.localPort,
                remote: tuple.remoteAddress,
                port: tuple.remotePort,
                from: .listen,
                to: .synReceived
            )
        )
        tcpStore(tcp.slots[slot]!, slot: slot, effects: &effects)
    }

    /// Takes the options of a received SYN (RFC 9293 §3.7.1, RFC 6691, RFC 7323 §2.2 and
    /// §3.2, RFC 2018 §2): each extension is on only when both sides offered it.
    mutating func tcpNegotiateOptions(_ c: inout TCPConnection, _ o: TCPOptions) {
        // RFC 9293 §3.7.1 (MUST-15): 536 when the option is absent; an MSS of 0 is ignored;
        // tiny values are clamped to a floor (Linux TCP_MIN_MSS).
        if let m = o.mss, m > 0 {
            c.peerMSS = max(configuration.tcp.minimumMSS, Int(m))
        } else {
            c.peerMSS = 536
        }
        if let ws = o.windowScale, configuration.tcp.windowScaling, c.state == .synSent ? c.windowScaling : true {
            c.windowScaling = true
            // RFC 7323 §2.3: a shift above 14 is used as 14.
            c.sndWindowShift = Int(min(ws, 14))
        } else {
            c.windowScaling = false
            c.sndWindowShift = 0
            c.rcvWindowShift = 0
        }
        if let ts = o.timestamps, configuration.tcp.timestamps {
            c.timestamps = true
            c.tsRecent = ts.value
            c.tsRecentAge = now
        } else {
            c.timestamps = false
        }
        c.sack = o.sackPermitted && configuration.tcp.sack
        tcpUpdateMSS(&c)
    }

    /// The effective send MSS: the peer's MSS and our MTU, less the options every segment
    /// carries (RFC 6691; RFC 9293 §3.7.1), capped by TCP_MAXSEG.
    mutating func tcpUpdateMSS(_ c: inout TCPConnection) {
        let mtu = interfaces[c.route.interface].mtu
        var m = min(c.peerMSS, mtu - 40)
        if let user = c.userMSS { m = min(m, user) }
        if c.timestamps { m -= 12 }
        c.mss = max(configuration.tcp.minimumMSS - (c.timestamps ? 12 : 0), m)
        c.cc.mss = c.mss
        c.cc.cwnd = CongestionControl.initialWindow(mss: c.mss, segments: configuration.tcp.initialWindowSegments)
    }

    /// SEGMENT ARRIVES for a connection that exists (RFC 9293 §3.10.7.3 and §3.10.7.4, in the
    /// RFC's order). Returns true when a new SYN ended a TIME-WAIT connection and should be
    /// handed to the listener.
    mutating func tcpSegmentArrives(
        _ c: inout TCPConnection,
        _ seg: TCPSegment,
        data: UnsafeRawBufferPointer,
        effects: inout Effects
    ) -> Bool {
        if c.state == .synSent {
            tcpSynSentInput(&c, seg, effects: &effects)
            return false
        }
        var flags = seg.flags
        var seq = seg.seq
        // A new connection attempt for a connection in TIME-WAIT is accepted when its sequence
        // number is above what the old incarnation used (RFC 9293 §3.10.7.4, RFC 1122 §4.2.2.13).
        if c.state == .timeWait && flags.contains(.syn) && !flags.contains(.ack) && !flags.contains(.rst)
            && seq > c.rcvNxt
        {
            tcpSetState(&c, .closed, effects: &effects)
            return true
        }
        if c.state == .synReceived && flags.contains(.syn) && seq == c.irs && !flags.contains(.rst) {
            if flags.contains(.ack) && c.sndUna < seg.ack && seg.ack <= c.sndMax {
                // The SYN,ACK of a simultaneous open (RFC 9293 §3.5 figure 8): its SYN is the
                // one already acknowledged; the ACK completes the handshake.
                flags.remove(.syn)
                seq = seq + 1
            } else {
                // A retransmitted SYN: our SYN,ACK was lost; send it again.
                counters.count(.tcpDuplicateSYN)
                tcpSendSYN(&c, effects: &effects)
                return false
            }
        }
        // RFC 7323 §5.3 (PAWS): a segment whose timestamp is older than TS.Recent is a duplicate
        // from an earlier wrap; acknowledge and drop it (unless it is a RST).
        if c.timestamps, let ts = seg.header.options.timestamps, !flags.contains(.rst) {
            let stale = Int32(bitPattern: ts.value &- c.tsRecent) < 0
            // TS.Recent older than 24 days is invalid (RFC 7323 §5.5).
            if stale && now.nanoseconds(since: c.tsRecentAge) < 24 * 86_400 * 1_000_000_000 {
                drop(.tcpPAWS)
                tcpOutOfWindowAck(&c, effects: &effects)
                return false
            }
        }
        // "first check sequence number" (RFC 9293 §3.10.7.4).
        let window = max(0, c.rcvAdvertised - c.rcvNxt)
        var dataStart = 0
        var dataEnd = data.count
        let segLen = dataEnd + (flags.contains(.syn) ? 1 : 0) + (flags.contains(.fin) ? 1 : 0)
        var acceptable: Bool
        if segLen == 0 {
            acceptable = window == 0 ? seq == c.rcvNxt : seq.isInWindow(start: c.rcvNxt, length: window)
        } else if window == 0 {
            // "If the RCV.WND is zero, no segments will be acceptable, but special allowance
            // should be made to accept valid ACKs, URGs, and RSTs": take the segment's control
            // information, not its data.
            acceptable = seq == c.rcvNxt
            if acceptable {
                dataEnd = 0
                flags.remove(.fin)
                // The data is still "not acceptable": answer it with an ACK that carries the
                // window (a zero-window probe must be answered, RFC 9293 §3.8.6.1).
                c.ackNow = true
            }
        } else {
            acceptable =
                seq.isInWindow(start: c.rcvNxt, length: window)
                || (seq + (segLen - 1)).isInWindow(start: c.rcvNxt, length: window)
        }
        if !acceptable {
            // "If an incoming segment is not acceptable, an acknowledgment should be sent in
            // reply (unless the RST bit is set ...)". In TIME-WAIT this re-acknowledges a
            // retransmitted FIN and restarts the 2 MSL timeout.
            drop(.tcpOutOfWindow)
            if !flags.contains(.rst) {
                if c.state == .timeWait && flags.contains(.fin) {
                    c.timeWaitAt = now.adding(nanoseconds: configuration.tcp.timeWait)
                    tcpSendAck(&c, effects: &effects)
                } else {
                    tcpOutOfWindowAck(&c, effects: &effects)
                }
            }
            return false
        }
        // Trim to the window: drop what was received before, and what lies beyond the window
        // (RFC 9293 §3.10.7.4 "segments with higher beginning sequence numbers ... trimmed").
        // Only the SYN-RECEIVED handshake strips an old SYN (above); in a synchronized state a
        // SYN gets a challenge ACK "irrespective of the sequence number" (RFC 5961 §4.2).
        if flags.contains(.syn) && seq < c.rcvNxt && !c.state.isSynchronized {
            flags.remove(.syn)
            seq = seq + 1
        }
        let before = c.rcvNxt - seq
        if before > 0 {
            let k = min(before, dataEnd - dataStart)
            dataStart += k
            seq = seq + k
            if before > k { flags.remove(.fin) }
        }
        let room = window - max(0, seq - c.rcvNxt)
        if dataEnd - dataStart > room {
            dataEnd = dataStart + max(0, room)
            flags.remove(.fin)
        }

        // "second check the RST bit" with RFC 5961 §3.2: only an exact match resets; any other
        // RST in the window gets a challenge ACK.
        if flags.contains(.rst) {
            guard seg.seq == c.rcvNxt else {
                tcpChallengeAck(&c, effects: &effects)
                return false
            }
            counters.count(.tcpResetsIn)
            switch c.state {
            case .synReceived:
                if c.passive {
                    // "If this connection was initiated with a passive OPEN, then return this
                    // connection to the LISTEN state": the listener forgets the embryo.
                    tcpDetachFromListener(&c)
                    tcpSetState(&c, .closed, effects: &effects)
                } else {
                    tcpAbort(&c, error: .ECONNREFUSED, sendReset: false, effects: &effects)
                }
            case .established, .finWait1, .finWait2, .closeWait:
                tcpAbort(&c, error: .ECONNRESET, sendReset: false, effects: &effects)
            default:
                tcpSetState(&c, .closed, effects: &effects)
            }
            return false
        }
        // "fourth, check the SYN bit" (RFC 9293 §3.10.7.4 and RFC 5961 §4.2): a SYN in a
        // synchronized state gets a challenge ACK; in SYN-RECEIVED after a passive open the
        // connection returns to LISTEN.
        if flags.contains(.syn) {
            if c.state == .synReceived && c.passive {
                tcpDetachFromListener(&c)
                tcpSetState(&c, .closed, effects: &effects)
            } else {
                tcpChallengeAck(&c, effects: &effects)
            }
            return false
        }
        // "fifth check the ACK field": "if the ACK bit is off, drop the segment and return".
        guard flags.contains(.ack) else {
            drop(.tcpNoACK)
            return false
        }
        if c.state == .synReceived {
            // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state ... If the segment
            // acknowledgment is not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST>."
            guard c.sndUna < seg.ack && seg.ack <= c.sndMax else {
                tcpSendReset(to: seg, seq: seg.ack, ack: nil, effects: &effects)
                return false
            }
            c.sndWnd = Int(seg.header.window) << c.sndWindowShift
            c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
            c.sndWl1 = seq
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
            return false
        }
        if seg.ack < c.sndUna - max(c.maxSndWnd, 1) {
            drop(.tcpAckTooOld)
            tcpChallengeAck(&c, effects: &effects)
            return false
        }
        // RFC 7323 §4.3 (2): TS.Recent follows the segment that covers Last.ACK.sent.
        if c.timestamps, let ts = seg.header.options.timestamps, seq <= c.lastAckSent,
            Int32(bitPattern: ts.value &- c.tsRecent) >= 0
        {
            c.tsRecent = ts.value
            c.tsRecentAge = now
        }
        // The peer is alive: only a segment that passed every check says so, or a spoofed
        // out-of-window segment would keep a dead connection from ever timing out.
        c.lastSegmentAt = now
        c.unansweredProbes = 0
        tcpProcessAck(&c, seg, seq: seq, dataLength: dataEnd - dataStart, effects: &effects)
        if c.state == .closed { return false }

        // "sixth, check the URG bit": urgent data is delivered in-band (RFC 6093).
        // "seventh, process the segment text".
        if dataEnd > dataStart {
            if c.state.receivesData && !c.readShut {
                tcpReceiveData(
                    &c,
                    seq: seq,
                    UnsafeRawBufferPointer(rebasing: data[dataStart..<dataEnd]),
                    effects: &effects
                )
            } else if c.state.receivesData && c.fd == nil {
                // Data for a connection the application has closed: RFC 9293 §3.10.4 / RFC
                // 2525 §2.17 — reset it.
                tcpAbort(&c, error: nil, sendReset: true, effects: &effects)
                return false
            } else if c.state.receivesData && seq == c.rcvNxt {
                // Shut down for reading: in-order data is acknowledged and thrown away, as
                // Linux does, so the peer does not retransmit it until it gives up.
                c.rcvNxt = c.rcvNxt + (dataEnd - dataStart)
                c.ackNow = true
            } else {
                c.ackNow = true
            }
        }
        // "eighth, check the FIN bit".
        if flags.contains(.fin) {
            let finAt = seq + (dataEnd - dataStart)
            if finAt == c.rcvNxt {
                tcpReceiveFIN(&c, effects: &effects)
            } else if c.state.receivesData {
                // A FIN behind a hole: remember it until the hole fills.
                c.pendingFin = finAt
                c.ackNow = true
            }
        }
        tcpOutput(&c, effects: &effects)
        return false
    }

    /// SYN-SENT (RFC 9293 §3.10.7.3).
    mutating func tcpSynSentInput(_ c: inout TCPConnection, _ seg: TCPSegment, effects: inout Effects) {
        let flags = seg.flags
        // "first check the ACK bit": "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset
        // (unless the RST bit is set, if so drop the segment and return)".
        var ackAcceptable = false
        if flags.contains(.ack) {
            guard seg.ack > c.iss && seg.ack <= c.sndMax else {
                drop(.tcpBadACKInSynSent)
                if !flags.contains(.rst) { tcpSendReset(to: seg, seq: seg.ack, ack: nil, effects: &effects) }
                return
            }
            ackAcceptable = true
        }
        // "second check the RST bit": with an acceptable ACK, "connection reset"; without an
        // ACK, drop (RFC 5961 §3.2 keeps this).
        if flags.contains(.rst) {
            guard ackAcceptable else { return drop(.tcpRSTWithoutACK) }
            counters.count(.tcpResetsIn)
            tcpAbort(&c, error: .ECONNREFUSED, sendReset: false, effects: &effects)
            return
        }
        // "fourth check the SYN bit".
        guard flags.contains(.syn) else { return drop(.tcpNoSYNInSynSent) }
        c.irs = seg.seq
        c.rcvNxt = seg.seq + 1
        c.rcvAdvertised = c.rcvNxt
        tcpNegotiateOptions(&c, seg.header.options)
        c.sndWnd = Int(seg.header.window)  // never scaled in a SYN (RFC 7323 §2.2)
        c.maxSndWnd = c.sndWnd
        c.sndWl1 = seg.seq
        c.sndWl2 = seg.ack
        if ackAcceptable {
            // "SND.UNA should be advanced to equal SEG.ACK ... If SND.UNA > ISS (our SYN has been
            // ACKed), change the connection state to ESTABLISHED, form an ACK segment
            // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
            c.sndUna = seg.ack
            if c.sndNxt < c.sndUna { c.sndNxt = c.sndUna }
            tcpRTTSample(&c, seg, acked: seg.ack)
            c.retransmitAt = nil
            // RFC 6298 (5.7): "If the timer expires awaiting the ACK of a SYN segment ... the RTO
            // MUST be re-initialized to 3 seconds when data transmission begins".
            if c.retransmits > 0 { c.rtt.reinitializeAfterSYNTimeout() }
            c.retransmits = 0
            tcpSetState(&c, .established, effects: &effects)
            tcpEstablished(&c, effects: &effects)
            c.ackNow = true
            tcpOutput(&c, effects: &effects)
        } else {
            // Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment
            // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it".
            tcpSetState(&c, .synReceived, effects: &effects)
            tcpSendSYN(&c, effects: &effects)
        }
    }

    /// The handshake completed: start keepalive, hand a passive connection to its listener.
    mutating func tcpEstablished(_ c: inout TCPConnection, effects: inout Effects) {
        if c.keepAlive { c.keepaliveAt = now.adding(nanoseconds: c.keepIdle) }
        guard let lfd = c.listener, var l = sockets[lfd], var ls = l.tcp.listen else { return }
        ls.embryonic = max(0, ls.embryonic - 1)
        // The slot is found from the tuple: the connection is parked during the event.
        if let slot = tcp.byTuple[c.tuple] { ls.acceptQueue.append(slot) }
        l.tcp.listen = ls
        sockets[lfd] = l
        effects.events.append(.changed(fd: lfd))
        trace(.tcpAcceptQueued(listener: lfd, remote: c.tuple.remoteAddress, port: c.tuple.remotePort))
    }

    /// Removes an embryonic connection from its listener's count.
    mutating func tcpDetachFromListener(_ c: inout TCPConnection) {
        guard let lfd = c.listener else { return }
        c.listener = nil
        guard var l = sockets[lfd], var ls = l.tcp.listen else { return }
        ls.embryonic = max(0, ls.embryonic - 1)
        if let slot = tcp.byTuple[c.tuple], let i = ls.acceptQueue.firstIndex(of: slot) { ls.acceptQueue.remove(at: i) }
        l.tcp.listen = ls
        sockets[lfd] = l
    }

    /// The ACK field of a segment in a synchronized state (RFC 9293 §3.10.7.4 "fifth"), with
    /// RTT measurement (RFC 6298), congestion control (RFC 5681, RFC 6582) and the window
    /// update rule.
    mutating func tcpProcessAck(
        _ c: inout TCPConnection,
        _ seg: TCPSegment,
        seq: SequenceNumber,
        dataLength: Int,
        effects: inout Effects
    ) {
        let ack = seg.ack
        let window = Int(seg.header.window) << c.sndWindowShift
        let newlySACKed = ack >= c.sndUna ? tcpUpdateScoreboard(&c, seg) : false
        if ack > c.sndUna {
            // "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK. Any segments on the
            // retransmission queue that are thereby entirely acknowledged are removed."
            let acked = ack - c.sndUna
            let flightBefore = c.flightSize
            let dataAcked = min(acked, c.sendBuffer.count)
            c.sendBuffer.removeFirst(dataAcked)
            c.sndUna = ack
            if c.sndNxt < c.sndUna { c.sndNxt = c.sndUna }
            tcpPruneScoreboard(&c)
            tcpRTTSample(&c, seg, acked: ack)
            c.retransmits = 0
            if c.cc.inFastRecovery {
                if ack >= c.cc.recover {
                    // RFC 6582 §3.2 (3) full acknowledgment: deflate the window.
                    c.cc.cwnd = min(c.cc.ssthresh, max(flightBefore - acked, c.mss) + c.mss)
                    c.cc.inFastRecovery = false
                    c.cc.duplicateAcks = 0
                } else {
                    // RFC 6582 §3.2 (4) partial acknowledgment: retransmit the first
                    // unacknowledged segment, deflate by the amount acked, add back one SMSS.
                    tcpRetransmitFirst(&c, effects: &effects)
                    c.cc.cwnd = max(c.mss, c.cc.cwnd - acked + c.mss)
                    c.retransmitAt = now.adding(nanoseconds: c.rtt.rto)
                }
            } else {
                // RFC 5681 §3.1: cwnd grows for ACKs of new data; the ACK of our SYN is not one.
                c.cc.onNewAck(acked: dataAcked)
                // Keep `recover` within 2^31 of SND.UNA so the modular comparison with it stays
                // right on long connections; once passed it only needs to stay below the ACKs.
                if c.cc.recover < c.sndUna - 1 { c.cc.recover = c.sndUna - 1 }
            }
            // RFC 6298 (5.2)/(5.3): all acknowledged → stop the timer, else restart it.
            c.retransmitAt = c.sndUna == c.sndMax ? nil : now.adding(nanoseconds: c.rtt.rto)
            c.persistBackoff = 0
            if let fd = c.fd, dataAcked > 0 { effects.events.append(.changed(fd: fd)) }
        } else if ack == c.sndUna && dataLength == 0 && !seg.flags.contains(.fin) && c.flightSize > 0
            && (window == c.sndWnd || newlySACKed)
        {
            // RFC 5681 §2 "duplicate ACK"; with SACK, RFC 6675 §2 "DupAck": an ACK that SACKs
            // data not SACKed before counts even when the window moved (a receiver whose
            // application reads announces a new window on nearly every ACK).
            // (3.2) fast retransmit on the third, then inflate.
            c.cc.duplicateAcks += 1
            counters.count(.tcpDuplicateAcksIn)
            if c.cc.inFastRecovery {
                c.cc.cwnd += c.mss
                // Each duplicate ACK means a segment left the network: with SACK, use it to
                // resend the next hole below the highest SACKed byte (RFC 6675 §4 NextSeg (1)).
                tcpRetransmitNextHole(&c, effects: &effects)
            } else if c.cc.duplicateAcks == 3 && ack > c.cc.recover - 1 {
                // RFC 6582 §3.2 (2): only when the ACK covers more than `recover`.
                c.cc.enterFastRecovery(flightSize: c.flightSize, highestSent: c.sndMax)
                counters.count(.tcpFastRetransmits)
                trace(.tcpFastRetransmit(local: c.tuple.localPort, seq: c.sndUna.rawValue))
                tcpRetransmitFirst(&c, effects: &effects)
            }
        }
        // Window update: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated.
        // If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))".
        if c.sndWl1 < seq || (c.sndWl1 == seq && c.sndWl2 <= ack) {
            if window != c.sndWnd { trace(.tcpWindowChanged(local: c.tuple.localPort, window: window)) }
            c.sndWnd = window
            c.maxSndWnd = max(c.maxSndWnd, window)
            c.sndWl1 = seq
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
            if c.finAcked { tcpSetState(&c, .timeWait, effects: &effects) }
        case .lastAck:
            // "The only thing that can arrive in this state is an acknowledgment of our FIN. If
            // our FIN is now acknowledged, delete the TCB, enter the CLOSED state, and return."
            if c.finAcked { tcpSetState(&c, .closed, effects: &effects) }
        default: break
        }
    }

    /// Takes the segment's SACK blocks into the scoreboard (RFC 2018, RFC 6675 §4); true when
    /// they cover data above everything SACKed before (RFC 6675 §2 DupAck (b)).
    mutating func tcpUpdateScoreboard(_ c: inout TCPConnection, _ seg: TCPSegment) -> Bool {
        guard c.sack, !seg.header.options.sackBlocks.isEmpty else { return false }
        var new = false
        for block in seg.header.options.sackBlocks {
            var left = SequenceNumber(block.left)
            let right = SequenceNumber(block.right)
            // Only blocks about data in flight count (RFC 2018 §3).
            guard right > c.sndUna && right <= c.sndMax && left < right else { continue }
            if left < c.sndUna { left = c.sndUna }
            if right > c.highestSACKed || c.highestSACKed < c.sndUna {
                c.highestSACKed = right
                new = true
            }
            // Merge in place with the ranges it touches, then insert it in order; at most 16
            // ranges are kept (the highest are dropped first), so nothing is allocated per ACK.
            var merged = (left: left, right: right)
            var k = 0
            while k < c.sacked.count {
                let r = c.sacked[k]
                if r.right < merged.left || merged.right < r.left {
                    k += 1
                } else {
                    merged = (SequenceNumber.min(r.left, merged.left), SequenceNumber.max(r.right, merged.right))
                    c.sacked.remove(at: k)
                }
            }
            let at = c.sacked.firstIndex { merged.left < $0.left } ?? c.sacked.count
            if at < 16 {
                c.sacked.insert(merged, at: at)
                if c.sacked.count > 16 { c.sacked.removeLast() }
            }
        }
        return new
    }

    /// Forgets SACK information at or below SND.UNA, and keeps HighRxt and the highest SACKed
    /// sequence number from falling behind it (so they stay within 2^31 of SND.UNA).
    func tcpPruneScoreboard(_ c: inout TCPConnection) {
        if c.highRxt < c.sndUna { c.highRxt = c.sndUna }
        if c.highestSACKed < c.sndUna { c.highestSACKed = c.sndUna }
        guard !c.sacked.isEmpty else { return }
        c.sacked.removeAll { $0.right <= c.sndUna }
        if let first = c.sacked.first, first.left < c.sndUna { c.sacked[0].left = c.sndUna }
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

    /// Takes in-window data (RFC 9293 §3.10.7.4 "seventh"): into the receive buffer at its
    /// offset; in order advances RCV.NXT; out of order is acknowledged at once with SACK
    /// blocks (RFC 5681 §4.2, RFC 2018).
    mutating func tcpReceiveData(
        _ c: inout TCPConnection,
        seq: SequenceNumber,
        _ bytes: UnsafeRawBufferPointer,
        effects: inout Effects
    ) {
        let offset = seq - c.rcvNxt
        let hadHole = c.receiveBuffer.hasOutOfOrder
        guard let advanced = c.receiveBuffer.write(at: offset, bytes) else {
            drop(.tcpOutOfOrderFull)
            c.ackNow = true
            return
        }
        if advanced > 0 {
            c.rcvNxt = c.rcvNxt + advanced
            if let fd = c.fd { effects.events.append(.changed(fd: fd)) }
            if let pf = c.pendingFin, pf == c.rcvNxt {
                c.pendingFin = nil
                tcpReceiveFIN(&c, effects: &effects)
            }
        }
        if offset > 0 || hadHole {
            // Out of order, or filling a hole: acknowledge at once (RFC 5681 §4.2).
            counters.count(.tcpOutOfOrderSegments)
            c.ackNow = true
        } else if bytes.count >= c.mss {
            // RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2: an ACK for at least every second full-sized segment.
            c.fullSegmentsUnacked += 1
            if c.fullSegmentsUnacked >= 2 { c.ackNow = true }
        }
        if !c.ackNow && c.delayedAckAt == nil {
            c.delayedAckAt = now.adding(nanoseconds: configuration.tcp.delayedAckTimeout)
        }
    }

    /// The peer's FIN, in order (RFC 9293 §3.10.7.4 "eighth").
    mutating func tcpReceiveFIN(_ c: inout TCPConnection, effects: inout Effects) {
        guard !c.finReceived else {
            c.ackNow = true
            return
        }
        c.rcvNxt = c.rcvNxt + 1
        c.finReceived = true
        c.ackNow = true
        if let fd = c.fd { effects.events.append(.changed(fd: fd)) }
        switch c.state {
        case .synReceived, .established: tcpSetState(&c, .closeWait, effects: &effects)
        case .finWait1:
            // "If our FIN has been ACKed, then enter TIME-WAIT ... otherwise, enter the CLOSING state."
            tcpSetState(&c, c.finAcked ? .timeWait : .closing, effects: &effects)
        case .finWait2: tcpSetState(&c, .timeWait, effects: &effects)
        case .timeWait: c.timeWaitAt = now.adding(nanoseconds: configuration.tcp.timeWait)
        default: break
        }
    }

    /// RFC 5961 §7: challenge ACKs are rate-limited.
    mutating func tcpChallengeAck(_ c: inout TCPConnection, effects: inout Effects) {
        // Per connection first (so the global count reveals nothing about other connections,
        // the side channel of CVE-2016-5696), then the global limit.
        guard tcpOutOfWindowAckAllowed(&c), tcp.challengeAcks.take(now: now) else {
            return drop(.tcpChallengeAckLimited)
        }
        counters.count(.tcpChallengeAcks)
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
