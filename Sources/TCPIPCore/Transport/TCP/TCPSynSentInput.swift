extension Stack {
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
            context.count(.tcpResetsIn)
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
        guard let lfd = c.listener, var ls = tcp.endpoints[lfd]?.listen else { return }
        ls.embryonic = max(0, ls.embryonic - 1)
        // The slot is found from the tuple: the connection is parked during the event.
        if let slot = tcp.byTuple[c.tuple] { ls.acceptQueue.append(slot) }
        tcp.endpoints[lfd]!.listen = ls
        socketChanged(lfd, effects: &effects)
        trace(.tcpAcceptQueued(listener: lfd, remote: c.tuple.remoteAddress, port: c.tuple.remotePort))
    }

    /// Removes an embryonic connection from its listener's count.
    mutating func tcpDetachFromListener(_ c: inout TCPConnection) {
        guard let lfd = c.listener else { return }
        c.listener = nil
        guard var ls = tcp.endpoints[lfd]?.listen else { return }
        ls.embryonic = max(0, ls.embryonic - 1)
        if let slot = tcp.byTuple[c.tuple], let i = ls.acceptQueue.firstIndex(of: slot) { ls.acceptQueue.remove(at: i) }
        tcp.endpoints[lfd]!.listen = ls
    }
}
