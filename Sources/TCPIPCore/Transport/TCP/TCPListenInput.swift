extension Stack {
    /// LISTEN (RFC 9293 §3.10.7.2).
    mutating func tcpListenInput(_ lfd: Int32, _ seg: TCPSegment, effects: inout Effects) {
        // "first check for a RST": an incoming RST is ignored.
        if seg.flags.contains(.rst) { return drop(.tcpListenRST) }
        // "second check for an ACK": any acknowledgment is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>
        // — unless it returns a SYN cookie (RFC 4987 §3.6).
        if seg.flags.contains(.ack) {
            if tcpSynCookieACK(lfd, seg, effects: &effects) { return }
            return tcpSendReset(to: seg, seq: seg.ack, ack: nil, effects: &effects)
        }
        // "third check for a SYN".
        guard seg.flags.contains(.syn) else { return drop(.tcpListenNoSYN) }
        guard let listener = sockets[lfd] else { return }
        guard let ls = tcp.endpoints[lfd]?.listen else { return }
        // A full accept queue drops the SYN, cookie or not (Linux's tcp_conn_request counts
        // ListenOverflows); the client retransmits it.
        guard !ls.acceptQueueFull else { return drop(.tcpListenOverflow) }
        if let reason = tcpAdmission(listener.options) { return drop(reason) }
        guard var route = route(to: seg.source) else { return drop(.ipNoRoute) }
        route.source = seg.destination
        let tuple = TCPFourTuple(
            localAddress: seg.destination,
            localPort: seg.header.destinationPort,
            remoteAddress: seg.source,
            remotePort: seg.header.sourcePort
        )
        // A full SYN queue answers with a cookie and keeps no state (RFC 4987 §3.6), as Linux
        // with tcp_syncookies=1; without cookies the SYN is dropped.
        if ls.embryonic >= min(max(ls.backlog, 1), configuration.tcp.synQueueLimit) {
            guard configuration.tcp.synCookies else { return drop(.tcpSynQueueFull) }
            tcp.endpoints[lfd]!.listen!.lastOverflow = now
            return tcpSendSynCookie(tuple: tuple, route: route, seg, options: listener.options, effects: &effects)
        }
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
        let slot = tcpInsertEmbryo(c, listener: lfd)
        tcpStore(tcp.slots[slot]!, slot: slot, effects: &effects)
    }

    /// Stores a connection a listener made (SYN-RECEIVED) and counts it in its SYN queue.
    mutating func tcpInsertEmbryo(_ c: TCPConnection, listener lfd: Int32) -> Int {
        tcp.endpoints[lfd]!.listen!.embryonic += 1
        trace(
            .tcpStateChanged(
                local: c.tuple.localPort,
                remote: c.tuple.remoteAddress,
                port: c.tuple.remotePort,
                from: .listen,
                to: .synReceived
            )
        )
        return tcp.insert(c)
    }
}
