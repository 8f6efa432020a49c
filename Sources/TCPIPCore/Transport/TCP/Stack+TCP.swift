extension Stack {
    /// TCP input. Until the connection machinery exists no socket accepts segments.
    mutating func tcpInput(
        _ ip: IPv4Header, packet: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, broadcast: Bool,
        effects: inout Effects
    ) {
        counters.count(.tcpSegmentsIn)
        switch TCPHeader.parse(payload, source: ip.source, destination: ip.destination) {
        case .success: drop(.tcpNoSocket)
        case .failure(let r): drop(r)
        }
    }

    /// An ICMP error about a TCP segment we sent.
    mutating func tcpICMPError(
        localAddress: IPv4Address, localPort: UInt16, remoteAddress: IPv4Address, remotePort: UInt16, type: UInt8,
        code: UInt8, nextHopMTU: UInt16, effects: inout Effects
    ) {
        drop(.icmpErrorUnmatched)
    }
}
