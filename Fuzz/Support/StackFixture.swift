@testable import TCPIPCore

/// The stack every `Stack` fuzz input starts from, built once: 10.0.0.2 on one interface with
/// the peer 10.0.0.1 resolved, a listener on port 80 with one connection accepted and
/// established (data in flight both ways, out-of-order data held) and one embryonic, a
/// connection of its own in SYN-SENT, a UDP socket on port 53, and the first fragment of a
/// datagram waiting for the rest. Its constants are the ones the seed generator
/// (scripts/fuzz-seeds.py) builds its frames with.
struct StackFixture {
    static let localIP = IPv4Address(10, 0, 0, 2)
    static let localMAC = MACAddress(0x02, 0, 0, 0, 0, 0x0B)
    static let peerIP = IPv4Address(10, 0, 0, 1)
    static let peerMAC = MACAddress(0x02, 0, 0, 0, 0, 0x0A)
    /// The stack's ISS for every connection, and the peer's ISN.
    static let iss: UInt32 = 100_000
    static let peerISN: UInt32 = 5_000
    /// The established connection: peer port 40000 to the listener's port 80.
    static let listenPort: UInt16 = 80
    static let peerPort: UInt16 = 40000
    /// The embryonic connection's peer port.
    static let embryonicPeerPort: UInt16 = 40002
    /// The stack's own connection: local port 50000 to the peer's port 40001.
    static let activePort: UInt16 = 50000
    static let activePeerPort: UInt16 = 40001
    static let udpPort: UInt16 = 53
    /// The IP identification of the datagram whose first fragment is held.
    static let fragmentID: UInt16 = 0x4242
    /// The instant the fixture was built at.
    static let start = Instant(nanoseconds: 1_000_000_000)

    /// The fixture, built at the first use.
    nonisolated(unsafe) static let shared = StackFixture()

    var stack: Stack
    var effects = Effects()
    let listener: Int32
    let connection: Int32
    let connecting: Int32
    let udp: Int32

    init() {
        var c = StackConfiguration(interfaces: [
            Interface(
                name: "fuzz0",
                mac: Self.localMAC,
                mtu: 1500,
                network: IPv4Network(address: Self.localIP, prefixLength: 24)
            )
        ])
        c.maxSockets = 16
        c.arpMaxEntries = 8
        c.reassemblyMaxDatagrams = 4
        c.reassemblyMaxBytes = 64 * 1024
        c.reassemblyMaxFragments = 16
        c.tcp.receiveBuffer = 16 * 1024
        c.tcp.sendBuffer = 16 * 1024
        c.tcp.outOfOrderRanges = 8
        c.tcp.synQueueLimit = 4
        c.tcp.timeWaitLimit = 4
        var stack = Stack(configuration: c, seed: 1)
        stack.tcp.issOverride = SequenceNumber(Self.iss)
        let now = Self.start
        var fx = Effects()
        func receive(_ frame: [UInt8], _ stack: inout Stack) {
            frame.withUnsafeBytes { stack.receive(frame: $0, interface: 0, now: now, into: &fx) }
        }
        // RFC 826: the target of a request learns its sender.
        receive(Self.arpRequestFromPeer(), &stack)
        let listener = try! stack.socket(.stream).get()
        _ = stack.bind(listener, port: Self.listenPort)
        _ = stack.listen(listener, backlog: 4)
        let synOptions = TCPOptions(
            mss: 1460,
            windowScale: 7,
            sackPermitted: true,
            timestamps: .init(value: 1000, echoReply: 0)
        )
        let ts = TCPOptions(timestamps: .init(value: 1001, echoReply: 0))
        let rcv = Self.peerISN + 1
        receive(Self.tcp(seq: Self.peerISN, ack: 0, [.syn], options: synOptions), &stack)
        receive(Self.tcp(seq: rcv, ack: Self.iss + 1, [.ack], options: ts), &stack)
        let connection = try! stack.accept(listener, into: &fx).get().fd
        receive(Self.tcp(seq: rcv, ack: Self.iss + 1, [.ack, .psh], options: ts, payload: 100), &stack)
        receive(Self.tcp(seq: rcv + 150, ack: Self.iss + 1, [.ack], options: ts, payload: 50), &stack)
        _ = [UInt8](repeating: 0x5A, count: 3000).withUnsafeBytes { stack.send(connection, $0, into: &fx) }
        receive(Self.tcp(seq: 9_000, ack: 0, [.syn], options: synOptions, from: Self.embryonicPeerPort), &stack)
        let connecting = try! stack.socket(.stream).get()
        _ = stack.bind(connecting, port: Self.activePort)
        _ = stack.connect(connecting, address: Self.peerIP, port: Self.activePeerPort, into: &fx)
        let udp = try! stack.socket(.dgram).get()
        _ = stack.bind(udp, port: Self.udpPort)
        receive(Self.firstFragment(), &stack)
        StackInvariants.check(stack)
        self.stack = stack
        self.listener = listener
        self.connection = connection
        self.connecting = connecting
        self.udp = udp
    }

    // MARK: Frames from the peer

    /// An Ethernet frame from the peer to the stack.
    static func ethernet(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: EthernetHeader.size) + payload
        frame.withUnsafeMutableBytes {
            EthernetHeader(destination: localMAC, source: peerMAC, etherType: type).write(to: $0, at: 0)
        }
        return frame
    }

    /// The peer asks who has the stack's address.
    static func arpRequestFromPeer() -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: ARPPacket.size)
        packet.withUnsafeMutableBytes {
            ARPPacket(
                operation: ARPOperation.request,
                senderMAC: peerMAC,
                senderIP: peerIP,
                targetMAC: .zero,
                targetIP: localIP
            ).write(to: $0, at: 0)
        }
        return ethernet(EtherType.arp, packet)
    }

    /// An IPv4 packet from the peer in a frame: 20-byte header, then `payload`.
    static func ipv4(_ proto: UInt8, _ payload: [UInt8], id: UInt16 = 1, moreFragments: Bool = false) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: 20) + payload
        packet.withUnsafeMutableBytes {
            IPv4Header(
                totalLength: $0.count,
                identification: id,
                moreFragments: moreFragments,
                ttl: 64,
                protocol: proto,
                source: peerIP,
                destination: localIP
            ).write(to: $0, at: 0)
        }
        return ethernet(EtherType.ipv4, packet)
    }

    /// A TCP segment from the peer, `payload` bytes of 0x41, checksummed.
    static func tcp(
        seq: UInt32,
        ack: UInt32,
        _ flags: TCPFlags,
        options: TCPOptions = TCPOptions(),
        payload: Int = 0,
        from port: UInt16 = peerPort,
        to local: UInt16 = listenPort
    ) -> [UInt8] {
        let header = TCPHeader(
            sourcePort: port,
            destinationPort: local,
            sequenceNumber: seq,
            acknowledgmentNumber: ack,
            flags: flags,
            window: 65535,
            options: options
        )
        var segment = [UInt8](repeating: 0, count: header.encodedLength) + [UInt8](repeating: 0x41, count: payload)
        segment.withUnsafeMutableBytes {
            _ = header.write(to: $0, at: 0, source: peerIP, destination: localIP, totalLength: $0.count)
        }
        return ipv4(IPProtocol.tcp, segment)
    }

    /// The first 64 bytes of a 200-byte UDP datagram to port 53, in a fragment.
    static func firstFragment() -> [UInt8] {
        var udp = [UInt8](repeating: 0x55, count: 64)
        udp.withUnsafeMutableBytes {
            $0.setBE16(0, 5353)
            $0.setBE16(2, udpPort)
            $0.setBE16(4, 200)
            $0.setBE16(6, 0)  // no checksum (RFC 768)
        }
        return ipv4(IPProtocol.udp, udp, id: fragmentID, moreFragments: true)
    }
}
