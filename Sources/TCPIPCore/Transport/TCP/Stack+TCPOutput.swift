extension Stack {
    /// Sends what the connection may send now (RFC 9293 §3.8.6 and §3.10.2 SEND): new data in
    /// segments of at most the MSS within min(send window, cwnd), delayed by Nagle's algorithm
    /// (RFC 896, RFC 9293 §3.7.4) unless TCP_NODELAY, with sender-side silly window avoidance
    /// (RFC 9293 §3.8.6.2.1); then our FIN after the last byte; then a pure ACK if one is owed.
    /// `overrideSWS`: the persist timer fired with data held by the SWS rules: send what fits.
    mutating func tcpOutput(_ c: inout TCPConnection, overrideSWS: Bool = false, effects: inout Effects) {
        switch c.state {
        case .established, .closeWait, .finWait1, .closing, .lastAck:
            break
        case .synSent, .synReceived, .finWait2, .timeWait:
            if c.ackNow && c.state != .synSent && c.state != .synReceived { tcpSendAck(&c, effects: &effects) }
            return
        case .closed, .listen:
            return
        }
        // Room for SACK blocks in data segments while we hold out-of-order data (RFC 2018 §3).
        let sackRoom = c.sack && c.receiveBuffer.hasOutOfOrder ? 28 : 0
        let segmentSize = max(1, c.mss - sackRoom)
        var sent = 0
        while sent < 4096 {
            let offset = c.sndNxt - c.sndUna
            let unsent = c.sendBuffer.count - offset
            // Within the peer's window and what congestion control allows (RFC 5681 §3.1, with
            // RFC 3042's limited transmit).
            let window = min(c.sndWnd, c.cc.sendWindow(sendingNewData: c.sndNxt == c.sndMax))
            let usable = window - offset
            var length = max(0, min(unsent, segmentSize, usable))
            let retransmitting = c.sndNxt < c.sndMax
            var send = false
            if length > 0 {
                if length == segmentSize || retransmitting {
                    send = true
                } else if length == unsent && (c.noDelay || offset == 0 || c.finQueued) {
                    // Nagle: a short segment goes only when nothing is outstanding (RFC 896).
                    send = true
                } else if c.maxSndWnd > 0 && length >= c.maxSndWnd / 2 {
                    // SWS avoidance: at least half the largest window the peer offered.
                    send = true
                } else if overrideSWS && offset == 0 {
                    // RFC 9293 §3.8.6.2.1 (d): the override timeout occurred.
                    send = true
                }
            }
            // Our FIN follows the last data byte once the application closed its side.
            let finHere =
                c.finQueued && offset + (send ? length : 0) == c.sendBuffer.count
                && (c.finSeq == nil || c.sndNxt + (send ? length : 0) == c.finSeq!)
            let fin = finHere && (send || unsent == 0)
            if !send && !fin { break }
            if !send { length = 0 }
            var flags: TCPFlags = [.ack]
            if fin { flags.insert(.fin) }
            if length > 0 && offset + length == c.sendBuffer.count { flags.insert(.psh) }
            let seq = c.sndNxt
            if length > 0 && !retransmitting && c.rttSequence == nil {
                // Time one segment per round trip (RFC 6298 §3, Karn: never a retransmission).
                c.rttSequence = seq + length
                c.rttStart = now
            }
            if retransmitting {
                context.count(.tcpRetransmittedSegments)
                c.retransmitsTotal += 1
            }
            tcpTransmit(&c, seq: seq, flags: flags, offset: offset, length: length, effects: &effects)
            if fin && c.finSeq == nil { c.finSeq = seq + length }
            c.sndNxt = seq + length + (fin ? 1 : 0)
            if c.sndNxt > c.sndMax { c.sndMax = c.sndNxt }
            // RFC 6298 (5.1): start the timer when data goes out and it is not running.
            if c.retransmitAt == nil { c.retransmitAt = now.adding(nanoseconds: c.rtt.rto) }
            c.persistAt = nil
            sent += 1
            if fin { break }
        }
        // Zero window with data waiting and nothing in flight: probe (RFC 9293 §3.8.6.1). A
        // window too small for the SWS rules is the same case: the persist timer is then the
        // override timeout of §3.8.6.2.1 (as Linux arms its probe timer), else the data could
        // wait forever for a window update the peer has no reason to send.
        if c.unsentBytes > 0 && c.sndUna == c.sndMax && c.persistAt == nil {
            c.retransmitAt = nil
            c.persistAt = now.adding(nanoseconds: tcpPersistInterval(c))
        }
        if c.ackNow { tcpSendAck(&c, effects: &effects) }
    }

    /// The persist interval: the RTO, backed off, between the configured bounds.
    func tcpPersistInterval(_ c: TCPConnection) -> Int64 {
        let base = max(c.rtt.baseRTO, configuration.tcp.minPersist)
        let shifted = base << Int64(min(c.persistBackoff, 16))
        return min(shifted, configuration.tcp.maxPersist)
    }

    /// Sends a bare ACK: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. SND.NXT here is the highest
    /// sequence number sent: after a retransmission timeout moved the send point back, an ACK
    /// carrying the old number would be unacceptable to the peer (RFC 9293 §3.10.7.4), whose
    /// own ACK would be unacceptable to us in turn — an endless exchange of ACKs.
    mutating func tcpSendAck(_ c: inout TCPConnection, effects: inout Effects) {
        tcpTransmit(&c, seq: c.sndMax, flags: [.ack], offset: 0, length: 0, effects: &effects)
    }

    /// Sends our SYN (active open) or SYN,ACK (passive or simultaneous open), with our options.
    mutating func tcpSendSYN(_ c: inout TCPConnection, effects: inout Effects) {
        let flags: TCPFlags = c.state == .synSent ? [.syn] : [.syn, .ack]
        tcpTransmit(&c, seq: c.iss, flags: flags, offset: 0, length: 0, effects: &effects)
        c.sndNxt = c.iss + 1
        if c.sndMax < c.sndNxt { c.sndMax = c.sndNxt }
        if c.retransmitAt == nil { c.retransmitAt = now.adding(nanoseconds: c.rtt.rto) }
    }

    /// Retransmits the first unacknowledged segment (fast retransmit, RFC 5681 §3.2; partial
    /// ACK, RFC 6582).
    mutating func tcpRetransmitFirst(_ c: inout TCPConnection, effects: inout Effects) {
        // Only bytes that were sent before: SND.MAX bounds a retransmission.
        let length = min(c.mss, c.sendBuffer.count, c.sndMax - c.sndUna)
        let fin = c.finSeq.map { $0 == c.sndUna + length } ?? false
        guard length > 0 || fin else { return }
        var flags: TCPFlags = [.ack]
        if fin { flags.insert(.fin) }
        context.count(.tcpRetransmittedSegments)
        c.retransmitsTotal += 1
        c.rttSequence = nil
        tcpTransmit(&c, seq: c.sndUna, flags: flags, offset: 0, length: length, effects: &effects)
        let end = c.sndUna + length
        if c.highRxt < end { c.highRxt = end }
    }

    /// Resends the first segment of the next hole: the lowest bytes above SND.UNA and HighRxt
    /// that the peer has not SACKed, below a SACKed range (RFC 6675 §4 NextSeg (1.a)-(1.c)).
    mutating func tcpRetransmitNextHole(_ c: inout TCPConnection, effects: inout Effects) {
        guard c.sack, !c.sacked.isEmpty else { return }
        var start = c.highRxt > c.sndUna ? c.highRxt : c.sndUna
        for r in c.sacked {
            if start < r.left {
                let length = min(c.mss, r.left - start, c.sendBuffer.count - (start - c.sndUna))
                guard length > 0 else { return }
                context.count(.tcpRetransmittedSegments)
                c.retransmitsTotal += 1
                c.rttSequence = nil
                tcpTransmit(&c, seq: start, flags: [.ack], offset: start - c.sndUna, length: length, effects: &effects)
                c.highRxt = start + length
                return
            }
            if start < r.right { start = r.right }
        }
    }

    /// Builds one segment of the connection and hands it to IP: header, options (MSS, window
    /// scale, SACK-permitted on SYNs; timestamps and SACK blocks after), the window, and
    /// `length` bytes from the send buffer at `offset` (from SND.UNA).
    mutating func tcpTransmit(
        _ c: inout TCPConnection,
        seq: SequenceNumber,
        flags: TCPFlags,
        offset: Int,
        length: Int,
        effects: inout Effects
    ) {
        var options = TCPOptions()
        let syn = flags.contains(.syn)
        let synAck = syn && flags.contains(.ack)
        if syn {
            options.mss = UInt16(clamping: c.advertisedMSS)
            if c.windowScaling || (!synAck && configuration.tcp.windowScaling) {
                options.windowScale = UInt8(c.rcvWindowShift)
            }
            if c.sack || (!synAck && configuration.tcp.sack) { options.sackPermitted = true }
            if c.timestamps || (!synAck && configuration.tcp.timestamps) {
                options.timestamps = .init(value: tcpTimestamp(c), echoReply: synAck ? c.tsRecent : 0)
            }
        } else {
            if c.timestamps { options.timestamps = .init(value: tcpTimestamp(c), echoReply: c.tsRecent) }
            // SACK blocks: as many as fit in the options space and the MTU next to the data
            // (each takes 8 bytes, plus 4 for NOP, NOP, kind, length).
            let mtu = interfaces[c.route.interface].mtu
            let room = min(40 - (c.timestamps ? 12 : 0), mtu - 40 - (c.timestamps ? 12 : 0) - length)
            let maxBlocks = min(4, max(0, (room - 4) / 8))
            if c.sack && flags.contains(.ack) && c.receiveBuffer.hasOutOfOrder && maxBlocks > 0 {
                // RFC 2018 §4: the first block holds the most recently received segment.
                let base = c.rcvNxt
                if let recent = c.receiveBuffer.mostRecentRange {
                    options.sackBlocks.append(
                        left: (base + recent.lowerBound).rawValue,
                        right: (base + recent.upperBound).rawValue
                    )
                }
                let recent = c.receiveBuffer.mostRecentRange
                c.receiveBuffer.forEachOutOfOrderRange { r in
                    if r != recent && options.sackBlocks.count < maxBlocks {
                        options.sackBlocks.append(
                            left: (base + r.lowerBound).rawValue,
                            right: (base + r.upperBound).rawValue
                        )
                    }
                }
            }
        }
        // The window: never shrink the right edge already offered; open it only in steps of
        // min(buffer/2, MSS) (receiver SWS avoidance, RFC 9293 §3.8.6.2.2).
        let available = c.receiveWindow
        let offered = max(0, c.rcvAdvertised - c.rcvNxt)
        let step = min(c.receiveBuffer.capacity / 2, c.advertisedMSS)
        var window = available >= offered + step || available == 0 && offered == 0 ? available : offered
        window = max(window, offered)
        let field: UInt16
        if syn {
            field = UInt16(clamping: window)
        } else {
            // Scaled, the window is rounded down to a multiple of 2^shift, unless that would
            // move the right edge already offered to the left: then it is rounded up (RFC 7323
            // §2.4; Linux's tcp_select_window aligns up in the same case), into the buffer's
            // slack. Rounding up ACK after ACK lets the edge creep; where it would pass what
            // the buffer can store, it is rounded down after all and the edge retracts by less
            // than 2^shift, the shrinking RFC 7323 §2.4 foresees: a told edge is never one
            // the buffer cannot keep.
            var scaled = window >> c.rcvWindowShift
            if scaled << c.rcvWindowShift < offered {
                let up = (offered + (1 << c.rcvWindowShift) - 1) >> c.rcvWindowShift
                scaled = up << c.rcvWindowShift <= c.receiveBuffer.storable ? up : offered >> c.rcvWindowShift
            }
            field = UInt16(clamping: scaled)
        }
        let ackNumber = flags.contains(.ack) ? c.rcvNxt : SequenceNumber(0)
        let header = TCPHeader(
            sourcePort: c.tuple.localPort,
            destinationPort: c.tuple.remotePort,
            sequenceNumber: seq.rawValue,
            acknowledgmentNumber: ackNumber.rawValue,
            flags: flags,
            window: field,
            options: options
        )
        let headerLength = header.encodedLength
        effects.frames.begin(headroom: Self.ipHeadroom)
        effects.frames.appendZeros(headerLength + length)
        let (src, dst) = (c.tuple.localAddress, c.tuple.remoteAddress)
        let total = headerLength + length
        let buffer = c.sendBuffer
        effects.frames.withFrame { buf in
            if length > 0 {
                _ = buffer.copy(
                    from: offset,
                    count: length,
                    into: UnsafeMutableRawBufferPointer(rebasing: buf[headerLength..<total])
                )
            }
            _ = header.write(to: buf, at: 0, source: src, destination: dst, totalLength: total)
        }
        if flags.contains(.ack) {
            c.lastAckSent = c.rcvNxt
            // The right edge as told to the peer, exactly: segment acceptability (RFC 9293
            // §3.10.7.4) is judged against it, never against free buffer space.
            c.rcvAdvertised = c.rcvNxt + (syn ? Int(field) : Int(field) << c.rcvWindowShift)
            c.ackNow = false
            c.delayedAckAt = nil
            c.ackCoalesced = false
            c.fullSegmentsUnacked = 0
        }
        context.count(.tcpSegmentsOut)
        if let sink = traceSink {
            sink(
                .tcpSegmentSent(
                    local: c.tuple.localPort,
                    seq: seq.rawValue,
                    ack: ackNumber.rawValue,
                    flags: flags,
                    length: length,
                    window: Int(field)
                )
            )
        }
        ipSend(
            route: c.route,
            protocol: IPProtocol.tcp,
            destination: c.tuple.remoteAddress,
            dontFragment: true,
            owner: c.owner.map {
                .socket(
                    $0,
                    flow: PacketFlow(
                        localPort: c.tuple.localPort,
                        remoteAddress: c.tuple.remoteAddress,
                        remotePort: c.tuple.remotePort
                    )
                )
            } ?? .none,
            effects: &effects
        )
    }
}
