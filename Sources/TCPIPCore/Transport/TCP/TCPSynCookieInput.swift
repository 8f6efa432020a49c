extension Stack {
    /// Answers a SYN with a SYN cookie (RFC 4987 §3.6): the SYN,ACK a SYN-RECEIVED connection
    /// would send, from a control block that is built, used once and forgotten. Its ISS is the
    /// cookie; with timestamps, its TSval's low bits carry window scale and SACK.
    mutating func tcpSendSynCookie(
        tuple: TCPFourTuple,
        route: RouteChoice,
        _ seg: TCPSegment,
        options: SocketOptions,
        effects: inout Effects
    ) {
        let minute = SYNCookies.minute(now)
        tcp.cookies.rotate(minute: minute, random: &random)
        let o = seg.header.options
        let peerMSS = o.mss.map { Int($0) } ?? 536
        let cookie = tcp.cookies.make(
            tuple: tuple,
            clientISN: seg.seq,
            mssIndex: SYNCookies.mssIndex(forPeerMSS: peerMSS),
            minute: minute
        )
        var c = tcpNewConnection(
            tuple: tuple,
            route: route,
            iss: cookie,
            passive: true,
            options: options,
            effects: &effects
        )
        c.irs = seg.seq
        c.rcvNxt = seg.seq + 1
        c.rcvAdvertised = c.rcvNxt
        c.state = .synReceived
        tcpNegotiateOptions(&c, o)
        if c.timestamps {
            // TSval as this connection's clock would give it, its low bits replaced.
            let offset = tcpSynCookieTimestampOffset(tuple)
            let clock = UInt32(truncatingIfNeeded: now.nanoseconds / 1_000_000) &+ offset
            let ts = SYNCookies.timestamp(
                clock: clock,
                windowScale: c.windowScaling ? UInt8(c.sndWindowShift) : nil,
                sack: c.sack
            )
            c.tsOffset = offset &- (clock &- ts)
        }
        context.count(.tcpSynCookiesSent)
        trace(.tcpSynCookieSent(local: tuple.localPort, remote: tuple.remoteAddress, port: tuple.remotePort))
        tcpTransmit(&c, seq: c.iss, flags: [.syn, .ack], offset: 0, length: 0, effects: &effects)
    }

    /// An ACK that reached a listener: when the SYN queue overflowed in the last two minutes,
    /// it may return a SYN cookie (RFC 4987 §3.6). A valid one makes the connection — in
    /// SYN-RECEIVED, with what the cookie restores — and the ACK then completes the handshake
    /// through the same steps as any other (RFC 9293 §3.10.7.4), data and FIN included.
    /// Returns false when the ACK holds no cookie to take: the caller answers with a RST.
    mutating func tcpSynCookieACK(_ lfd: Int32, _ seg: TCPSegment, effects: inout Effects) -> Bool {
        guard configuration.tcp.synCookies, !seg.flags.contains(.syn), let listener = sockets[lfd],
            let ls = tcp.endpoints[lfd]?.listen, let overflow = ls.lastOverflow,
            now.nanoseconds(since: overflow) < Int64(SYNCookies.maximumAge) * 60_000_000_000
        else { return false }
        let tuple = TCPFourTuple(
            localAddress: seg.destination,
            localPort: seg.header.destinationPort,
            remoteAddress: seg.source,
            remotePort: seg.header.sourcePort
        )
        let minute = SYNCookies.minute(now)
        tcp.cookies.rotate(minute: minute, random: &random)
        let iss = seg.ack - 1
        let irs = seg.seq - 1
        var restored = TCPOptions()
        if let index = tcp.cookies.check(tuple: tuple, clientISN: irs, cookie: iss, minute: minute) {
            restored.mss = SYNCookies.mssTable[Int(index)]
        }
        // TSecr echoes the cookie SYN,ACK's TSval; zero means the peer had no timestamps.
        if let ts = seg.header.options.timestamps, ts.echoReply != 0, restored.mss != nil {
            if let o = SYNCookies.options(fromEcho: ts.echoReply) {
                restored.windowScale = o.windowScale
                restored.sackPermitted = o.sack
                restored.timestamps = .init(value: ts.value, echoReply: 0)
            } else {
                restored.mss = nil
            }
        }
        guard restored.mss != nil else {
            context.count(.tcpSynCookiesFailed)
            trace(.tcpSynCookieRejected(local: tuple.localPort, remote: tuple.remoteAddress, port: tuple.remotePort))
            return false
        }
        context.count(.tcpSynCookiesValidated)
        // Linux's tcp_v4_syn_recv_sock: a full accept queue drops the ACK; the peer retransmits.
        guard !ls.acceptQueueFull else {
            drop(.tcpListenOverflow)
            return true
        }
        if let reason = tcpAdmission(listener.options) {
            drop(reason)
            return true
        }
        guard var route = route(to: seg.source) else {
            drop(.ipNoRoute)
            return true
        }
        route.source = seg.destination
        var c = tcpNewConnection(
            tuple: tuple,
            route: route,
            iss: iss,
            passive: true,
            options: listener.options,
            effects: &effects
        )
        c.listener = lfd
        c.irs = irs
        c.rcvNxt = seg.seq
        c.state = .synReceived
        tcpNegotiateOptions(&c, restored)
        if c.timestamps { c.tsOffset = tcpSynCookieTimestampOffset(tuple) }
        c.sndUna = iss
        c.sndNxt = iss + 1
        c.sndMax = iss + 1
        // The window the cookie SYN,ACK offered (unscaled, RFC 7323 §2.2).
        c.rcvAdvertised = c.rcvNxt + min(c.receiveWindow, 65535)
        trace(.tcpSynCookieAccepted(local: tuple.localPort, remote: tuple.remoteAddress, port: tuple.remotePort))
        let slot = tcpInsertEmbryo(c, listener: lfd)
        var s = seg
        var conn = tcp.slots[slot].take()!
        _ = tcpSegmentArrives(&conn, &s, effects: &effects)
        tcpStore(consume conn, slot: slot, effects: &effects)
        return true
    }

    /// The timestamp offset of a connection made from a cookie: fixed per 4-tuple under the
    /// ISN key, so the SYN,ACK's TSval and the connection's later ones come from one clock
    /// (a peer's PAWS check, RFC 7323 §5, sees them increase).
    func tcpSynCookieTimestampOffset(_ tuple: TCPFourTuple) -> UInt32 {
        var h = SipHash24(k0: tcp.isn.k1, k1: tcp.isn.k0)
        h.append(tuple.localAddress.rawValue)
        h.append(tuple.localPort)
        h.append(tuple.remoteAddress.rawValue)
        h.append(tuple.remotePort)
        return UInt32(truncatingIfNeeded: h.finalize())
    }
}
