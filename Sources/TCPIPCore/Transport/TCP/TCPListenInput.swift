extension Stack {
    /// LISTEN (RFC 9293 §3.10.7.2).
    mutating func tcpListenInput(_ lfd: Int32, _ seg: TCPSegment, effects: inout Effects) {
        // "first check for a RST": an incoming RST is ignored.
        if seg.flags.contains(.rst) { return drop(.tcpListenRST) }
        // "second check for an ACK": any acknowledgment is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>.
        if seg.flags.contains(.ack) { return tcpSendReset(to: seg, seq: seg.ack, ack: nil, effects: &effects) }
        // "third check for a SYN".
        guard seg.flags.contains(.syn) else { return drop(.tcpListenNoSYN) }
        guard let listener = sockets[lfd] else { return }
        guard var ls = tcp.endpoints[lfd]?.listen else { return }
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
        tcp.endpoints[lfd]!.listen = ls
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
}
