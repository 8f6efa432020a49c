extension Stack {
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
}
