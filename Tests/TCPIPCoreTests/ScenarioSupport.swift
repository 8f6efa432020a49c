import TCPIPDrivers
import Testing

@testable import TCPIPCore

/// The hosts of the scenario tests: stacks A and B, and a hand-driven peer P that exists only
/// as the frames a test builds.
enum Hosts {
    static let aMAC = MACAddress(0x02, 0, 0, 0, 0, 0x0A)
    static let aIP = IPv4Address(10, 0, 0, 1)
    static let bMAC = MACAddress(0x02, 0, 0, 0, 0, 0x0B)
    static let bIP = IPv4Address(10, 0, 0, 2)
    static let peerMAC = MACAddress(0x02, 0, 0, 0, 0, 0x99)
    static let peerIP = IPv4Address(10, 0, 0, 9)
    /// The directed broadcast of 10.0.0.0/24.
    static let subnetBroadcast = IPv4Address(10, 0, 0, 255)

    /// One interface on 10.0.0.0/24.
    static func configuration(
        ip: IPv4Address = aIP,
        mac: MACAddress = aMAC,
        mtu: Int = 1500
    ) -> StackConfiguration {
        StackConfiguration(interfaces: [
            Interface(name: "sim0", mac: mac, mtu: mtu, network: IPv4Network(address: ip, prefixLength: 24))
        ])
    }

    /// A and B on one wire.
    static func pair(
        seed: UInt64 = 1,
        faults: FaultConfiguration = .none,
        latency: Int64 = 100_000,
        mtu: Int = 1500,
        tune: (inout StackConfiguration) -> Void = { _ in }
    ) -> SimulatedNetwork {
        var a = configuration(ip: aIP, mac: aMAC, mtu: mtu)
        var b = configuration(ip: bIP, mac: bMAC, mtu: mtu)
        tune(&a)
        tune(&b)
        return SimulatedNetwork(stacks: [a, b], seed: seed, faults: faults, latency: latency)
    }
}

/// Builds frames by hand with the wire-format builders.
enum Build {
    /// How a built UDP datagram's checksum is set.
    enum Checksum { case computed, zero, corrupted }

    /// An Ethernet II frame.
    static func ethernet(
        to destination: MACAddress,
        from source: MACAddress,
        type: UInt16,
        _ payload: [UInt8]
    )
        -> [UInt8]
    {
        var frame = [UInt8](repeating: 0, count: EthernetHeader.size) + payload
        frame.withUnsafeMutableBytes {
            EthernetHeader(destination: destination, source: source, etherType: type).write(to: $0, at: 0)
        }
        return frame
    }

    /// An ARP packet in an Ethernet frame (requests to broadcast unless `to` says otherwise).
    static func arp(
        _ operation: UInt16,
        senderMAC: MACAddress,
        senderIP: IPv4Address,
        targetMAC: MACAddress = .zero,
        targetIP: IPv4Address,
        to destination: MACAddress? = nil
    ) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: ARPPacket.size)
        packet.withUnsafeMutableBytes {
            ARPPacket(
                operation: operation,
                senderMAC: senderMAC,
                senderIP: senderIP,
                targetMAC: targetMAC,
                targetIP: targetIP
            ).write(to: $0, at: 0)
        }
        let dst = destination ?? (operation == ARPOperation.request ? .broadcast : targetMAC)
        return ethernet(to: dst, from: senderMAC, type: EtherType.arp, packet)
    }

    /// An IPv4 packet (header and payload). `options` (a multiple of 4 bytes) lengthen the header.
    static func ipv4(
        from source: IPv4Address,
        to destination: IPv4Address,
        protocol proto: UInt8,
        id: UInt16 = 0x1234,
        ttl: UInt8 = 64,
        dontFragment: Bool = false,
        moreFragments: Bool = false,
        offset: Int = 0,
        options: [UInt8] = [],
        _ payload: [UInt8]
    ) -> [UInt8] {
        precondition(options.count % 4 == 0 && options.count <= 40)
        let headerLength = 20 + options.count
        var packet = [UInt8](repeating: 0, count: 20) + options + payload
        packet.withUnsafeMutableBytes { buf in
            IPv4Header(
                totalLength: headerLength + payload.count,
                identification: id,
                dontFragment: dontFragment,
                moreFragments: moreFragments,
                fragmentOffset: offset,
                ttl: ttl,
                protocol: proto,
                source: source,
                destination: destination
            ).write(to: buf, at: 0)
            guard !options.isEmpty else { return }
            buf[0] = 0x40 | UInt8(headerLength / 4)
            buf.setBE16(10, 0)
            buf.setBE16(10, InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: buf[0..<headerLength])))
        }
        return packet
    }

    /// A UDP datagram (header and data) for the given pseudo-header addresses.
    static func udp(
        from source: IPv4Address,
        _ sourcePort: UInt16,
        to destination: IPv4Address,
        _ destinationPort: UInt16,
        _ data: [UInt8],
        checksum: Checksum = .computed
    ) -> [UInt8] {
        var datagram = [UInt8](repeating: 0, count: UDPHeader.size) + data
        datagram.withUnsafeMutableBytes { buf in
            UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, length: buf.count)
                .write(to: buf, at: 0, source: source, destination: destination)
            switch checksum {
            case .computed: break
            case .zero: buf.setBE16(6, 0)
            case .corrupted: buf.setBE16(6, buf.be16(6) ^ 0x0101)
            }
        }
        return datagram
    }

    /// An ICMP echo request or reply.
    static func echo(type: UInt8 = ICMPv4Type.echoRequest, id: UInt16, seq: UInt16, _ data: [UInt8]) -> [UInt8] {
        icmp(ICMPv4Header(echoType: type, identifier: id, sequenceNumber: seq), data)
    }

    /// Any ICMP message.
    static func icmp(_ header: ICMPv4Header, _ body: [UInt8]) -> [UInt8] {
        var message = [UInt8](repeating: 0, count: ICMPv4Header.size) + body
        message.withUnsafeMutableBytes { header.write(to: $0, at: 0, totalLength: $0.count) }
        return message
    }

    /// A frame from the peer P to a stack (default A) carrying an IP packet.
    static func fromPeer(_ packet: [UInt8], to mac: MACAddress = Hosts.aMAC) -> [UInt8] {
        ethernet(to: mac, from: Hosts.peerMAC, type: EtherType.ipv4, packet)
    }

    /// `payload` split into IP fragments of `chunk` payload bytes (a multiple of 8), in order.
    static func fragments(
        from source: IPv4Address,
        to destination: IPv4Address,
        protocol proto: UInt8,
        id: UInt16,
        chunk: Int,
        _ payload: [UInt8]
    ) -> [[UInt8]] {
        precondition(chunk > 0 && chunk % 8 == 0)
        var out: [[UInt8]] = []
        var offset = 0
        repeat {
            let end = min(payload.count, offset + chunk)
            out.append(
                ipv4(
                    from: source,
                    to: destination,
                    protocol: proto,
                    id: id,
                    moreFragments: end < payload.count,
                    offset: offset,
                    Array(payload[offset..<end])
                )
            )
            offset = end
        } while offset < payload.count
        return out
    }

    /// `count` bytes of a recognizable pattern.
    static func pattern(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }
    }
}

/// A frame taken apart with the wire parsers.
struct Decoded {
    var ethernet: EthernetHeader
    var arp: ARPPacket?
    var ip: IPv4Header?
    /// The IP packet, trimmed to its total length.
    var ipPacket: [UInt8] = []
    var icmp: ICMPv4Header?
    var udp: UDPHeader?
    /// The transport payload: ICMP body or UDP data (or the fragment's payload).
    var payload: [UInt8] = []

    init?(_ frame: [UInt8]) {
        let parsed: Decoded? = frame.withUnsafeBytes { buf -> Decoded? in
            guard case .success(let eth) = EthernetHeader.parse(buf) else { return nil }
            var d = Decoded(ethernet: eth)
            let body = UnsafeRawBufferPointer(rebasing: buf[EthernetHeader.size...])
            if eth.etherType == EtherType.arp {
                guard case .success(let a) = ARPPacket.parse(body) else { return nil }
                d.arp = a
                return d
            }
            guard eth.etherType == EtherType.ipv4, case .success(let ip) = IPv4Header.parse(body) else { return nil }
            d.ip = ip
            let packet = UnsafeRawBufferPointer(rebasing: body[0..<ip.totalLength])
            d.ipPacket = Array(packet)
            let transport = UnsafeRawBufferPointer(rebasing: packet[ip.headerLength...])
            if ip.isFragment {
                d.payload = Array(transport)
                return d
            }
            if ip.protocol == IPProtocol.icmp, case .success(let h) = ICMPv4Header.parse(transport) {
                d.icmp = h
                d.payload = Array(transport[ICMPv4Header.size...])
            } else if ip.protocol == IPProtocol.udp,
                case .success(let h) = UDPHeader.parse(transport, source: ip.source, destination: ip.destination)
            {
                d.udp = h
                d.payload = Array(transport[UDPHeader.size..<h.length])
            }
            return d
        }
        guard let parsed else { return nil }
        self = parsed
    }

    private init(ethernet: EthernetHeader) { self.ethernet = ethernet }

    var isARPRequest: Bool { arp?.operation == ARPOperation.request }
    var isARPReply: Bool { arp?.operation == ARPOperation.reply }
}

/// One stack driven by hand: frames in, frames out, a clock the test moves.
struct Harness {
    var stack: Stack
    var effects = Effects()
    var now: Instant = .zero
    /// Every frame the stack transmitted, in order, not yet taken.
    var sent: [[UInt8]] = []
    /// Every socket event, in order, not yet taken.
    var events: [SocketEvent] = []

    init(_ configuration: StackConfiguration = Hosts.configuration(), seed: UInt64 = 1) {
        stack = Stack(configuration: configuration, seed: seed)
    }

    /// Feeds a frame at the current time.
    mutating func receive(_ frame: [UInt8]) {
        let t = now
        frame.withUnsafeBytes { stack.receive(frame: $0, interface: 0, now: t, into: &effects) }
        collect()
    }

    /// Moves the clock to `t` and fires due timers (at most `maxSteps` deadlines on the way,
    /// so every timer fires at its own instant).
    mutating func advance(to t: Instant, maxSteps: Int = 10_000) {
        var steps = 0
        while let d = stack.nextDeadline(), d <= t, steps < maxSteps {
            if d > now { now = d }
            stack.advance(to: now, into: &effects)
            collect()
            steps += 1
        }
        if t > now { now = t }
        stack.advance(to: now, into: &effects)
        collect()
    }

    /// Moves the clock forward by `ns` nanoseconds.
    mutating func advance(by ns: Int64) { advance(to: now.adding(nanoseconds: ns)) }

    /// Runs a socket call.
    mutating func call<R>(_ body: (inout Stack, inout Effects) -> R) -> R {
        let r = body(&stack, &effects)
        collect()
        return r
    }

    /// Returns and forgets the transmitted frames.
    mutating func takeSent() -> [[UInt8]] {
        defer { sent.removeAll() }
        return sent
    }

    /// Teaches the stack the peer's MAC with an ARP request from the peer for the stack's
    /// address (RFC 826: the target learns the sender), and drops the stack's ARP reply.
    mutating func learnPeer(mac: MACAddress = Hosts.peerMAC, ip: IPv4Address = Hosts.peerIP) {
        let me = stack.interfaces[0].address
        receive(Build.arp(ARPOperation.request, senderMAC: mac, senderIP: ip, targetIP: me))
        sent.removeAll()
    }

    private mutating func collect() {
        effects.frames.forEachFrame { _, frame in sent.append(Array(frame)) }
        events.append(contentsOf: effects.events)
        effects.removeAll()
    }
}

/// Records the frames a simulated network puts on the wire (for observers).
final class WireLog {
    struct Entry {
        var time: Instant
        var from: Int
        var bytes: [UInt8]
        var decoded: Decoded? { Decoded(bytes) }
    }
    var entries: [Entry] = []

    /// Attaches the log to `network` as its observer.
    func attach(to network: inout SimulatedNetwork) {
        network.observer = { [self] t, from, frame in entries.append(Entry(time: t, from: from, bytes: Array(frame))) }
    }

    /// The decoded frames sent by stack `from` (all stacks when nil).
    func decoded(from: Int? = nil) -> [Decoded] {
        entries.filter { from == nil || $0.from == from }.compactMap(\.decoded)
    }
}

extension Result {
    /// The success value, or nil.
    var value: Success? {
        if case .success(let v) = self { return v }
        return nil
    }
    /// The failure, if any.
    var error: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}

extension SimulatedNetwork {
    /// Runs until no frame is in flight; records an issue if that takes too many steps.
    mutating func settle(sourceLocation: SourceLocation = #_sourceLocation) {
        if !runUntilQuiet(maxSteps: 10_000) {
            Issue.record("the network did not settle within 10000 steps", sourceLocation: sourceLocation)
        }
    }

    /// Opens a datagram socket on stack `i`.
    mutating func udpSocket(on i: Int, bind port: UInt16? = nil) -> Int32 {
        let fd = perform(on: i) { s, _ in s.socket(.dgram) }.value!
        if let port { _ = perform(on: i) { s, _ in s.bind(fd, port: port) } }
        return fd
    }

    /// `sendto` on stack `i`.
    @discardableResult
    mutating func sendTo(
        on i: Int,
        _ fd: Int32,
        _ data: [UInt8],
        to address: IPv4Address,
        port: UInt16
    ) -> Result<Int, Errno> {
        perform(on: i) { s, fx in data.withUnsafeBytes { s.sendTo(fd, $0, address: address, port: port, into: &fx) } }
    }

    /// `recvfrom` on stack `i`.
    mutating func receive(on i: Int, _ fd: Int32, max: Int = 65536) -> Result<ReceivedDatagram, Errno> {
        perform(on: i) { s, _ in s.receiveFrom(fd, max: max) }
    }
}
