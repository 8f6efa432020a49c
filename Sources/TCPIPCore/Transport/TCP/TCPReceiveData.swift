extension Stack {
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
            if let id = c.owner { effects.events.append(.changed(id)) }
            if let pf = c.pendingFin, pf == c.rcvNxt {
                c.pendingFin = nil
                tcpReceiveFIN(&c, effects: &effects)
            }
        }
        if offset > 0 || hadHole {
            // Out of order, or filling a hole: acknowledge at once (RFC 5681 §4.2).
            context.count(.tcpOutOfOrderSegments)
            c.ackNow = true
        } else if bytes.count >= c.mss {
            // RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2: an ACK for at least every second full-sized
            // segment. A super-frame (the device's GRO) counts as the segments it was merged
            // from, so one of two or more MSS is acknowledged at once, as Linux does.
            c.fullSegmentsUnacked += bytes.count / c.mss
            if c.fullSegmentsUnacked >= 2 {
                if coalescesAcknowledgments {
                    // Owed, and sent when the batch ends (`advance` at this instant).
                    c.delayedAckAt = now
                    c.ackCoalesced = true
                } else {
                    c.ackNow = true
                }
            }
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
        if let id = c.owner { effects.events.append(.changed(id)) }
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
}
