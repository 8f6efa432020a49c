/// The TCP control bits (RFC 9293 §3.1, with ECE and CWR from RFC 3168 §6.1).
public struct TCPFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The flags byte (byte 13 of the header).
    public var rawValue: UInt8

    /// Creates flags from the header's byte 13.
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// FIN: no more data from the sender.
    public static let fin = TCPFlags(rawValue: 0x01)
    /// SYN: synchronize sequence numbers.
    public static let syn = TCPFlags(rawValue: 0x02)
    /// RST: reset the connection.
    public static let rst = TCPFlags(rawValue: 0x04)
    /// PSH: push function.
    public static let psh = TCPFlags(rawValue: 0x08)
    /// ACK: the acknowledgment field is significant.
    public static let ack = TCPFlags(rawValue: 0x10)
    /// URG: the urgent pointer field is significant.
    public static let urg = TCPFlags(rawValue: 0x20)
    /// ECE: ECN-Echo (RFC 3168).
    public static let ece = TCPFlags(rawValue: 0x40)
    /// CWR: congestion window reduced (RFC 3168).
    public static let cwr = TCPFlags(rawValue: 0x80)

    /// tcpdump's notation: `[S.]` for SYN+ACK, `[P.]`, `[F.]`, `[R]`, `[.]` for a bare ACK.
    public var description: String {
        var s = "["
        if contains(.syn) { s += "S" }
        if contains(.fin) { s += "F" }
        if contains(.rst) { s += "R" }
        if contains(.psh) { s += "P" }
        if contains(.urg) { s += "U" }
        if contains(.ece) { s += "E" }
        if contains(.cwr) { s += "W" }
        if contains(.ack) { s += "." }
        return s + "]"
    }
}

/// A TCP header with its options (RFC 9293 §3.1).
///
/// Sequence and acknowledgment numbers are the raw 32-bit fields; sequence arithmetic belongs
/// to the TCP layer.
public struct TCPHeader: Hashable, Sendable {
    /// The size of a header without options.
    public static let minimumSize = 20
    /// The largest header: data offset 15.
    public static let maximumSize = 60

    /// The source port.
    public var sourcePort: UInt16
    /// The destination port.
    public var destinationPort: UInt16
    /// The sequence number of the first data octet (the ISN when SYN is set).
    public var sequenceNumber: UInt32
    /// The next sequence number the sender expects (significant when ACK is set).
    public var acknowledgmentNumber: UInt32
    /// The header length in bytes (the data offset field × 4), 20…60, as received; `write`
    /// derives its own from `options`.
    public var dataOffset: Int
    /// The control bits.
    public var flags: TCPFlags
    /// The receive window, unscaled (as on the wire).
    public var window: UInt16
    /// The checksum as received (`write` computes its own).
    public var checksum: UInt16
    /// The urgent pointer (significant when URG is set).
    public var urgentPointer: UInt16
    /// The decoded options.
    public var options: TCPOptions
    /// The number of data bytes after the header (0 for a header built to be written).
    public var payloadLength: Int

    /// The offset of the data from the start of the header: `dataOffset`.
    @inlinable public var payloadOffset: Int { dataOffset }

    /// The header length `write` produces: 20 plus the options' encoded length.
    @inlinable public var encodedLength: Int { Self.minimumSize + options.encodedLength }

    /// The sequence space the segment occupies (RFC 9293 §3.4, SEG.LEN): the data plus one for
    /// SYN and one for FIN.
    @inlinable public var sequenceLength: Int {
        payloadLength + (flags.contains(.syn) ? 1 : 0) + (flags.contains(.fin) ? 1 : 0)
    }

    /// Creates a header; `dataOffset` is set to `encodedLength`.
    @inlinable public init(
        sourcePort: UInt16,
        destinationPort: UInt16,
        sequenceNumber: UInt32,
        acknowledgmentNumber: UInt32,
        flags: TCPFlags,
        window: UInt16,
        urgentPointer: UInt16 = 0,
        options: TCPOptions = TCPOptions(),
        payloadLength: Int = 0
    ) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.checksum = 0
        self.urgentPointer = urgentPointer
        self.options = options
        self.payloadLength = payloadLength
        self.dataOffset = Self.minimumSize + options.encodedLength
    }

    /// Parses and validates a TCP segment: `segment` is the IP payload (trimmed to the IP total
    /// length), and `source` and `destination` are the IP addresses for the pseudo-header.
    ///
    /// Checks, in order: at least 20 bytes (`.tcpTooShort`), 20 ≤ data offset ≤ `segment.count`
    /// (`.tcpBadDataOffset`), the checksum (`.tcpBadChecksum`), the options (`.tcpBadOptions`,
    /// see `TCPOptions.parse`).
    ///
    /// `verifyChecksum: false` skips the checksum, for a segment whose checksum a device left
    /// partial or verified (`FrameOffload`).
    public static func parse(
        _ segment: UnsafeRawBufferPointer,
        source: IPv4Address,
        destination: IPv4Address,
        verifyChecksum: Bool = true
    ) -> Result<TCPHeader, DropReason> {
        // RFC 9293 §3.1: the fixed header is 20 octets.
        guard segment.count >= minimumSize else { return .failure(.tcpTooShort) }
        // RFC 9293 §3.1 "Data Offset": the header length in 32-bit words, at least 5; the
        // header must lie within the segment.
        let dataOffset = Int(segment[12] >> 4) * 4
        guard dataOffset >= minimumSize, dataOffset <= segment.count else { return .failure(.tcpBadDataOffset) }
        // RFC 9293 §3.1 "Checksum": over the pseudo-header, the header and the data; it is
        // generated and checked on every segment (MUST-2, MUST-3; RFC 1122 §4.2.2.7).
        if verifyChecksum {
            var sum = InternetChecksum()
            sum.addPseudoHeader(
                source: source,
                destination: destination,
                protocol: IPProtocol.tcp,
                length: segment.count
            )
            sum.add(segment)
            guard sum.folded == 0xFFFF else { return .failure(.tcpBadChecksum) }
        }
        let options: TCPOptions
        switch TCPOptions.parse(UnsafeRawBufferPointer(rebasing: segment[minimumSize..<dataOffset])) {
        case .success(let o): options = o
        case .failure(let reason): return .failure(reason)
        }
        return .success(
            TCPHeader(
                sourcePort: segment.be16(0),
                destinationPort: segment.be16(2),
                sequenceNumber: segment.be32(4),
                acknowledgmentNumber: segment.be32(8),
                dataOffset: dataOffset,
                flags: TCPFlags(rawValue: segment[13]),
                window: segment.be16(14),
                checksum: segment.be16(16),
                urgentPointer: segment.be16(18),
                options: options,
                payloadLength: segment.count - dataOffset
            )
        )
    }

    /// Creates a header from every decoded field (used by `parse`).
    init(
        sourcePort: UInt16,
        destinationPort: UInt16,
        sequenceNumber: UInt32,
        acknowledgmentNumber: UInt32,
        dataOffset: Int,
        flags: TCPFlags,
        window: UInt16,
        checksum: UInt16,
        urgentPointer: UInt16,
        options: TCPOptions,
        payloadLength: Int
    ) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.dataOffset = dataOffset
        self.flags = flags
        self.window = window
        self.checksum = checksum
        self.urgentPointer = urgentPointer
        self.options = options
        self.payloadLength = payloadLength
    }

    /// Writes the header and its options at `offset` (data offset `encodedLength`; the 4
    /// reserved bits zero) and the checksum over the pseudo-header and the `totalLength` bytes
    /// from `offset`: the header and the data that already follows it (RFC 9293 §3.1). Returns
    /// the header length written.
    ///
    /// `dataOffset`, `checksum` and `payloadLength` are not taken from `self`. The caller
    /// guarantees `totalLength` bytes at `offset`, with `totalLength` ≥ `encodedLength`.
    @inlinable @discardableResult
    public func write(
        to buffer: UnsafeMutableRawBufferPointer,
        at offset: Int,
        source: IPv4Address,
        destination: IPv4Address,
        totalLength: Int
    ) -> Int {
        let headerLength = Self.minimumSize + options.write(to: buffer, at: offset + Self.minimumSize)
        assert(totalLength >= headerLength && totalLength <= 0xFFFF, "TCP segment length out of range")
        buffer.setBE16(offset, sourcePort)
        buffer.setBE16(offset + 2, destinationPort)
        buffer.setBE32(offset + 4, sequenceNumber)
        buffer.setBE32(offset + 8, acknowledgmentNumber)
        buffer[offset + 12] = UInt8(truncatingIfNeeded: headerLength / 4) << 4
        buffer[offset + 13] = flags.rawValue
        buffer.setBE16(offset + 14, window)
        buffer.setBE16(offset + 16, 0)
        buffer.setBE16(offset + 18, urgentPointer)
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: source, destination: destination, protocol: IPProtocol.tcp, length: totalLength)
        sum.add(UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + totalLength]))
        buffer.setBE16(offset + 16, sum.value)
        return headerLength
    }
}
