@testable import TCPIPCore

/// What every frame the stack transmits must be, however bad its input was: an Ethernet frame
/// within the MTU from the interface's MAC, carrying an ARP packet or an IPv4 packet whose
/// header, and (unfragmented) TCP, UDP or ICMP checksum, verify with the stack's own parsers.
enum FrameInvariants {
    /// Checks one sent frame. `ipv4` false accepts any bytes after an IPv4 EtherType (for
    /// link-layer tests that send placeholder datagrams).
    static func checkSent(_ frame: UnsafeRawBufferPointer, from mac: MACAddress, mtu: Int, ipv4: Bool = false) {
        require(frame.count <= EthernetHeader.size + mtu, "a \(frame.count)-byte frame for MTU \(mtu)")
        guard case .success(let eth) = EthernetHeader.parse(frame) else { return require(false, "a runt frame") }
        require(eth.source == mac, "a frame from \(eth.source)")
        require(eth.destination != .zero, "a frame to 00:00:00:00:00:00")
        let payload = UnsafeRawBufferPointer(rebasing: frame[EthernetHeader.size...])
        switch eth.etherType {
        case EtherType.arp:
            guard case .success(let arp) = ARPPacket.parse(payload) else { return require(false, "bad ARP sent") }
            require(arp.senderMAC == mac, "ARP from \(arp.senderMAC)")
        case EtherType.ipv4:
            if ipv4 { checkIPv4(payload) }
        default:
            require(false, "EtherType \(eth.etherType) sent")
        }
    }

    /// Checks a sent IPv4 packet and the transport header it carries.
    static func checkIPv4(_ packet: UnsafeRawBufferPointer) {
        let parsed = IPv4Header.parse(packet)
        guard case .success(let ip) = parsed else { return require(false, "a sent IPv4 header fails: \(parsed)") }
        guard !ip.isFragment else { return }
        let transport = UnsafeRawBufferPointer(rebasing: packet[ip.headerLength..<ip.totalLength])
        switch ip.protocol {
        case IPProtocol.tcp:
            let h = TCPHeader.parse(transport, source: ip.source, destination: ip.destination)
            if case .failure(let r) = h { require(false, "a sent TCP segment fails: \(r)") }
        case IPProtocol.udp:
            let h = UDPHeader.parse(transport, source: ip.source, destination: ip.destination)
            if case .failure(let r) = h { require(false, "a sent UDP datagram fails: \(r)") }
        case IPProtocol.icmp:
            if case .failure(let r) = ICMPv4Header.parse(transport) {
                require(false, "a sent ICMP message fails: \(r)")
            }
        default:
            require(false, "IP protocol \(ip.protocol) sent")
        }
    }
}
