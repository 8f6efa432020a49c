extension Stack {
    /// TCP input (RFC 9293 §3.10.7 "SEGMENT ARRIVES"): find the connection, else a listener,
    /// else answer as the CLOSED state does.
    mutating func tcpInput(
        _ ip: IPv4Header,
        packet: UnsafeRawBufferPointer,
        payload: UnsafeRawBufferPointer,
        broadcast: Bool,
        effects: inout Effects
    ) {
        context.count(.tcpSegmentsIn)
        // RFC 9293 §3.9.1 / RFC 1122 §4.2.3.10: TCP is unicast only.
        guard !broadcast && !ip.destination.isMulticast else { return drop(.tcpBroadcast) }
        let header: TCPHeader
        let verify = !context.trustedChecksum.covers(payload)
        switch TCPHeader.parse(payload, source: ip.source, destination: ip.destination, verifyChecksum: verify) {
        case .success(let h): header = h
        case .failure(let r): return drop(r)
        }
        let text = UnsafeRawBufferPointer(
            rebasing: payload[header.dataOffset..<(header.dataOffset + header.payloadLength)]
        )
        var seg = TCPSegment(header: header, source: ip.source, destination: ip.destination, text: text)
        let tuple = TCPFourTuple(
            localAddress: ip.destination,
            localPort: header.destinationPort,
            remoteAddress: ip.source,
            remotePort: header.sourcePort
        )
        if let slot = tcp.byTuple[tuple] {
            var c = tcp.slots[slot].take()!
            let reopen = tcpSegmentArrives(&c, &seg, effects: &effects)
            tcpStore(consume c, slot: slot, effects: &effects)
            guard reopen else { return }
            // A new SYN for a connection in TIME-WAIT (RFC 9293 §3.10.7.4, RFC 6191): the old
            // incarnation is gone; the listener takes the SYN, as it arrived.
            seg = TCPSegment(header: header, source: ip.source, destination: ip.destination, text: text)
        }
        if let lfd = tcpListener(address: ip.destination, port: header.destinationPort) {
            return tcpListenInput(lfd, seg, effects: &effects)
        }
        tcpClosedInput(seg, effects: &effects)
    }

    /// RFC 9293 §3.10.7.1, the CLOSED state: "all data in the incoming segment is discarded.
    /// An incoming segment containing a RST is discarded. An incoming segment not containing a
    /// RST causes a RST to be sent in response."
    mutating func tcpClosedInput(_ seg: TCPSegment, effects: inout Effects) {
        drop(.tcpNoSocket)
        guard !seg.flags.contains(.rst) else { return }
        if seg.flags.contains(.ack) {
            // <SEQ=SEG.ACK><CTL=RST>
            tcpSendReset(to: seg, seq: seg.ack, ack: nil, effects: &effects)
        } else {
            // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
            tcpSendReset(to: seg, seq: SequenceNumber(0), ack: seg.seq + seg.length, effects: &effects)
        }
    }

    /// Sends a RST that belongs to no connection, answering `seg`.
    mutating func tcpSendReset(to seg: TCPSegment, seq: SequenceNumber, ack: SequenceNumber?, effects: inout Effects) {
        guard var route = route(to: seg.source) else { return drop(.ipNoRoute) }
        route.source = seg.destination
        let header = TCPHeader(
            sourcePort: seg.header.destinationPort,
            destinationPort: seg.header.sourcePort,
            sequenceNumber: seq.rawValue,
            acknowledgmentNumber: ack?.rawValue ?? 0,
            flags: ack == nil ? [.rst] : [.rst, .ack],
            window: 0
        )
        effects.frames.begin(headroom: Self.ipHeadroom)
        effects.frames.appendZeros(TCPHeader.minimumSize)
        let (src, dst) = (seg.destination, seg.source)
        effects.frames.withFrame { buf in
            _ = header.write(to: buf, at: 0, source: src, destination: dst, totalLength: TCPHeader.minimumSize)
        }
        context.count(.tcpSegmentsOut)
        context.count(.tcpResetsOut)
        ipSend(route: route, protocol: IPProtocol.tcp, destination: seg.source, dontFragment: true, effects: &effects)
    }

    /// The listening socket for a local address and port: one bound to the address beats one
    /// bound to the wildcard.
    func tcpListener(address: IPv4Address, port: UInt16) -> Int32? {
        guard let fds = tcp.bound[port] else { return nil }
        var wildcard: Int32?
        for fd in fds {
            guard let ep = tcp.endpoints[fd], ep.listen != nil else { continue }
            if ep.localAddress == address { return fd }
            if ep.localAddress == .any { wildcard = fd }
        }
        return wildcard
    }

    /// Puts a connection back after an event, schedules its timers, and frees it once nothing
    /// refers to it.
    mutating func tcpStore(_ c: consuming TCPConnection, slot: Int, effects: inout Effects) {
        // With the connection back in its slot, it can hear that the link refused a segment.
        defer { reportUndeliverable(effects: &effects) }
        if c.state == .closed {
            if tcp.byTuple[c.tuple] == slot { tcp.byTuple[c.tuple] = nil }
            c.retransmitAt = nil
            c.persistAt = nil
            c.delayedAckAt = nil
            c.keepaliveAt = nil
            c.timeWaitAt = nil
            c.finWait2At = nil
            if c.fd == nil && c.listener == nil {
                tcp.remove(slot)
                return
            }
        }
        tcpSchedule(c, slot: slot)
        tcp.slots[slot] = consume c
    }

    /// Puts the connection's earliest timer in the heap when it is earlier than what the heap
    /// already holds for its slot.
    mutating func tcpSchedule(_ c: borrowing TCPConnection, slot: Int) {
        if let next = c.nextTimer, tcp.scheduled[slot] == nil || next < tcp.scheduled[slot]! {
            tcp.scheduled[slot] = next
            tcp.timers.insert(TCPTimerEntry(due: next, slot: slot, generation: c.generation))
        }
    }

    /// Moves to a new state, with the bookkeeping that goes with it.
    mutating func tcpSetState(_ c: inout TCPConnection, _ new: TCPState, effects: inout Effects) {
        let old = c.state
        guard old != new else { return }
        if old == .timeWait { tcp.timeWaitCount -= 1 }
        c.state = new
        trace(
            .tcpStateChanged(
                local: c.tuple.localPort,
                remote: c.tuple.remoteAddress,
                port: c.tuple.remotePort,
                from: old,
                to: new
            )
        )
        switch new {
        case .timeWait:
            // RFC 9293 §3.10.7.4: TIME-WAIT for 2 MSL, other timers off. Past the limit the
            // connection closes at once (as Linux's tcp_max_tw_buckets).
            c.retransmitAt = nil
            c.persistAt = nil
            c.delayedAckAt = nil
            c.keepaliveAt = nil
            c.finWait2At = nil
            if tcp.timeWaitCount >= configuration.tcp.timeWaitLimit {
                c.state = .closed
            } else {
                tcp.timeWaitCount += 1
                c.timeWaitAt = now.adding(nanoseconds: configuration.tcp.timeWait)
            }
        case .closed:
            trace(
                .tcpConnectionClosed(local: c.tuple.localPort, remote: c.tuple.remoteAddress, port: c.tuple.remotePort)
            )
        default: break
        }
        if let id = c.owner { effects.events.append(.changed(id)) }
    }

    /// Ends a connection with an error the application will see (RFC 9293 §3.10.7: "signal
    /// the user 'connection reset'", or a timeout).
    mutating func tcpAbort(_ c: inout TCPConnection, error: Errno?, sendReset: Bool, effects: inout Effects) {
        if sendReset && c.state != .synSent && c.state != .closed && c.state != .timeWait {
            tcpTransmit(&c, seq: c.sndMax, flags: [.rst, .ack], offset: 0, length: 0, effects: &effects)
            context.count(.tcpResetsOut)
        }
        if let error {
            c.resetError = error
            c.pendingError = error
        }
        tcpSetState(&c, .closed, effects: &effects)
    }

    /// An ICMP error about a TCP segment we sent (RFC 9293 §3.9.1.3 / RFC 5927; RFC 1122
    /// §4.2.3.9): hard errors fail a connection that is still being set up; in a synchronized
    /// state they are soft; fragmentation-needed lowers the MSS (RFC 1191).
    mutating func tcpICMPError(
        localAddress: IPv4Address,
        localPort: UInt16,
        remoteAddress: IPv4Address,
        remotePort: UInt16,
        sequence: SequenceNumber,
        type: UInt8,
        code: UInt8,
        nextHopMTU: UInt16,
        effects: inout Effects
    ) {
        let tuple = TCPFourTuple(
            localAddress: localAddress,
            localPort: localPort,
            remoteAddress: remoteAddress,
            remotePort: remotePort
        )
        guard let slot = tcp.byTuple[tuple], let c0 = tcp.slots[slot] else { return drop(.icmpErrorUnmatched) }
        // RFC 5927 §4.1: the quoted segment must be one in flight, SND.UNA =< SEG.SEQ < SND.NXT;
        // anything else is stale or forged (Linux counts it as OutOfWindowIcmps).
        guard c0.sndUna <= sequence && sequence < c0.sndMax else { return drop(.icmpErrorUnmatched) }
        var c = tcp.slots[slot].take()!
        defer { tcpStore(c, slot: slot, effects: &effects) }
        context.count(.icmpErrorsToSockets)
        if type == ICMPv4Type.destinationUnreachable && code == ICMPv4UnreachableCode.fragmentationNeeded {
            // RFC 1191 §6.3: a smaller path MTU; never below the floor.
            let mtu = nextHopMTU == 0 ? 576 : Int(nextHopMTU)
            let newMSS = max(configuration.tcp.minimumMSS, mtu - 40 - (c.timestamps ? 12 : 0))
            if newMSS < c.mss {
                c.mss = newMSS
                c.cc.setMSS(newMSS, initial: false, initialWindowSegments: configuration.tcp.initialWindowSegments)
                // Resend what was lost at once.
                c.sndNxt = c.sndUna
                tcpOutput(&c, effects: &effects)
            }
            return
        }
        let error = IPv4Layer.errno(forICMPType: type, code: code)
        let hard =
            type == ICMPv4Type.destinationUnreachable
            && (code == ICMPv4UnreachableCode.port || code == ICMPv4UnreachableCode.protocol)
        if c.state == .synSent || (c.state == .synReceived && !c.passive) {
            // RFC 1122 §4.2.3.9: a hard error during connection setup aborts it; net and host
            // unreachable are reported too, as Linux does during connect.
            let reported: Errno = hard ? .ECONNREFUSED : error
            if let fd = c.fd { trace(.icmpErrorDelivered(fd: fd, error: reported.name)) }
            tcpAbort(&c, error: reported, sendReset: false, effects: &effects)
        }
        // Otherwise a soft error (RFC 5927 §4.1): never resets an established connection.
    }

    /// The next hop of a segment this connection sent did not answer ARP. A connection being
    /// set up fails at once, as on Linux (ip_link_failure sends itself ICMP host unreachable,
    /// which tcp_v4_err treats as fatal in SYN-SENT; RFC 1122 §4.2.3.9 lets the error abort an
    /// opening connection): connect answers EHOSTUNREACH instead of retrying SYNs into the void
    /// until ETIMEDOUT. In any other state it is a soft error: retransmission goes on and the
    /// connection is not broken (RFC 1122 §4.2.3.9, RFC 5927 §4.1).
    mutating func tcpNextHopUnreachable(_ id: SocketID, flow: PacketFlow, effects: inout Effects) {
        guard let slot = tcp.endpoints[id.descriptor]?.connection, tcp.slots[slot]?.state == .synSent,
            tcp.slots[slot]?.owner == id, tcp.slots[slot]?.carries(flow) == true
        else { return }
        var c = tcp.slots[slot].take()!
        tcpAbort(
            &c,
            error: Errno.EHOSTUNREACH.with("no ARP reply from the next hop"),
            sendReset: false,
            effects: &effects
        )
        tcpStore(consume c, slot: slot, effects: &effects)
    }
}
