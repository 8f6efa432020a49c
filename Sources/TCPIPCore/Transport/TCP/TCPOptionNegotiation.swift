extension Stack {
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
        c.cc.setMSS(c.mss, initial: true, initialWindowSegments: configuration.tcp.initialWindowSegments)
    }
}
