import TCPIPCore

/// Repairs to fuzzed packets that the fuzzer could not make by mutation alone — lengths that
/// must agree and checksums — so that inputs reach the code behind those checks. Each repair
/// does nothing to bytes too short or malformed for it.
enum PacketRepair {
    /// The IHL in bytes of the IPv4 header at the start of `packet`, when it fits there.
    static func ipv4HeaderLength(_ packet: UnsafeMutableRawBufferPointer) -> Int? {
        guard packet.count >= 20 else { return nil }
        let length = Int(packet[0] & 0x0F) * 4
        return length >= 20 && length <= packet.count ? length : nil
    }

    /// Sets the total length field to the bytes present (at most 65535).
    static func setIPv4TotalLength(_ packet: UnsafeMutableRawBufferPointer) {
        guard packet.count >= 4 else { return }
        packet.setBE16(2, UInt16(min(packet.count, 0xFFFF)))
    }

    /// Sets a correct header checksum.
    static func setIPv4HeaderChecksum(_ packet: UnsafeMutableRawBufferPointer) {
        guard let length = ipv4HeaderLength(packet) else { return }
        packet.setBE16(10, 0)
        packet.setBE16(10, InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: packet[0..<length])))
    }

    /// Sets the checksum of the TCP segment, UDP datagram or ICMP message an unfragmented
    /// IPv4 packet carries (RFC 9293 §3.1, RFC 768, RFC 792), and a UDP length that matches.
    static func setTransportChecksum(_ packet: UnsafeMutableRawBufferPointer) {
        guard let headerLength = ipv4HeaderLength(packet) else { return }
        let totalLength = Int(packet.be16(2))
        guard totalLength >= headerLength, totalLength <= packet.count, packet.be16(6) & 0x3FFF == 0 else { return }
        let transport = UnsafeMutableRawBufferPointer(rebasing: packet[headerLength..<totalLength])
        let proto = packet[9]
        let field: Int
        switch proto {
        case IPProtocol.tcp where transport.count >= 20: field = 16
        case IPProtocol.udp where transport.count >= 8:
            field = 6
            transport.setBE16(4, UInt16(transport.count))
        case IPProtocol.icmp where transport.count >= 4: field = 2
        default: return
        }
        transport.setBE16(field, 0)
        var sum = InternetChecksum()
        if proto != IPProtocol.icmp {
            sum.addPseudoHeader(
                source: IPv4Address(reading: UnsafeRawBufferPointer(packet), at: 12),
                destination: IPv4Address(reading: UnsafeRawBufferPointer(packet), at: 16),
                protocol: proto,
                length: transport.count
            )
        }
        sum.add(UnsafeRawBufferPointer(transport))
        let value = sum.value
        transport.setBE16(field, proto == IPProtocol.udp && value == 0 ? 0xFFFF : value)
    }
}
