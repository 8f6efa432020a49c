/// One received segment, decoded once and passed through the event processing of RFC 9293
/// §3.10.7. The steps trim it to the receive window in place: `seq`, `flags` and `text` then
/// describe the part still being processed, while `header` keeps what arrived.
struct TCPSegment {
    /// The header as received.
    var header: TCPHeader
    var source: IPv4Address
    var destination: IPv4Address
    /// SEG.SEQ of the part still being processed (moves forward when the front is trimmed).
    var seq: SequenceNumber
    /// The control bits still to act on (SYN or FIN are removed when trimmed away).
    var flags: TCPFlags
    /// The segment text still to be processed (valid only during the input call).
    var text: UnsafeRawBufferPointer

    init(header: TCPHeader, source: IPv4Address, destination: IPv4Address, text: UnsafeRawBufferPointer) {
        self.header = header
        self.source = source
        self.destination = destination
        self.text = text
        seq = SequenceNumber(header.sequenceNumber)
        flags = header.flags
    }

    /// SEG.ACK.
    var ack: SequenceNumber { SequenceNumber(header.acknowledgmentNumber) }
    /// SEG.SEQ as received, before any trimming.
    var receivedSeq: SequenceNumber { SequenceNumber(header.sequenceNumber) }
    /// SEG.LEN: the text plus one for SYN and one for FIN (RFC 9293 §3.4) — the one
    /// definition, for the segment as it stands after trimming.
    var length: Int { text.count + (flags.contains(.syn) ? 1 : 0) + (flags.contains(.fin) ? 1 : 0) }
    /// The window the segment advertises, scaled by `shift` (RFC 7323 §2.3).
    func window(shift: Int) -> Int { Int(header.window) << shift }

    /// Drops `count` bytes of text from the front (already received).
    mutating func trimFront(_ count: Int) {
        text = UnsafeRawBufferPointer(rebasing: text[count...])
        seq = seq + count
    }

    /// Keeps at most `count` bytes of text; what lies beyond the window goes, with the FIN.
    mutating func trimBack(to count: Int) {
        text = UnsafeRawBufferPointer(rebasing: text[..<count])
        flags.remove(.fin)
    }
}
