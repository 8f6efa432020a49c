@testable import TCPIPCore

/// Fuzz target `ARP`: the ARP packet parser (RFC 826) and the link layer's input, resolution
/// and timers (RFC 1122 §2.3.2), with a small neighbour cache so that eviction and the queue
/// bounds are reached.
///
/// The input is a sequence of steps; the first byte of each chooses it:
/// 0 a raw Ethernet frame (2-byte length, then the frame);
/// 1 an ARP packet (28 bytes) in a frame to us or to broadcast, with valid hardware fields
///   when bit 3 is set;
/// 2 an IPv4 datagram sent to next hop 10.0.0.N (1 byte N, 1 byte length);
/// 3 time moves on (1 byte, in units of 100 ms) and the timers run.
/// Every ARP packet that parses must write back to the same bytes; after each step the cache
/// must keep its bounds and every frame sent must be well formed.
@_cdecl("LLVMFuzzerTestOneInput")
public func arpFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data: data, size: size)
    var run = ARPRun()
    while !input.isAtEnd {
        let step = input.byte()
        switch step & 3 {
        case 0: run.receive(input.chunk())
        case 1: run.receiveARP(input.take(ARPPacket.size), toUs: step & 4 != 0, fixHardware: step & 8 != 0)
        case 2: run.send(to: IPv4Address(10, 0, 0, input.byte()), length: Int(input.byte()))
        default: run.advance(by: Int64(input.byte()) * 100_000_000)
        }
        run.check()
    }
    return 0
}

/// The effects every run reuses (one arena, not one allocation per input).
nonisolated(unsafe) private var arpEffects = Effects()

/// One link layer on 10.0.0.2/24, driven by the steps.
private struct ARPRun {
    static let mac = MACAddress(0x02, 0, 0, 0, 0, 0x0B)
    var link: LinkLayer
    var ctx: LayerContext

    init() {
        var c = StackConfiguration(interfaces: [
            Interface(
                name: "fuzz0",
                mac: Self.mac,
                mtu: 1500,
                network: IPv4Network(address: IPv4Address(10, 0, 0, 2), prefixLength: 24)
            )
        ])
        c.arpMaxEntries = 4
        c.arpPendingPackets = 3
        c.arpPendingBytes = 600
        c.arpMaxRequests = 2
        link = LinkLayer(configuration: c)
        ctx = LayerContext(interfaces: c.interfaces)
        arpEffects.removeAll()
    }

    mutating func receive(_ frame: UnsafeRawBufferPointer) {
        _ = link.input(frame: frame, interface: 0, ctx: &ctx, effects: &arpEffects)
    }

    mutating func receiveARP(_ packet: UnsafeRawBufferPointer, toUs: Bool, fixHardware: Bool) {
        var bytes = Array(packet)
        if fixHardware && bytes.count >= 6 { bytes.replaceSubrange(0..<6, with: [0, 1, 8, 0, 6, 4]) }
        bytes.withUnsafeBytes { checkParse($0) }
        var frame = [UInt8](repeating: 0, count: EthernetHeader.size) + bytes
        frame.withUnsafeMutableBytes {
            EthernetHeader(
                destination: toUs ? Self.mac : .broadcast,
                source: MACAddress(0x02, 0, 0, 0, 0, 0x0A),
                etherType: EtherType.arp
            )
            .write(to: $0, at: 0)
        }
        frame.withUnsafeBytes { receive($0) }
    }

    mutating func send(to nextHop: IPv4Address, length: Int) {
        arpEffects.frames.begin(headroom: EthernetHeader.size)
        arpEffects.frames.appendZeros(20 + length)
        link.outputIPv4(interface: 0, nextHop: nextHop, owner: .none, ctx: &ctx, effects: &arpEffects)
    }

    mutating func advance(by ns: Int64) {
        ctx.now = ctx.now.adding(nanoseconds: ns)
        link.timers(ctx: &ctx, effects: &arpEffects)
    }

    /// A parsed packet writes back to the bytes it came from.
    func checkParse(_ packet: UnsafeRawBufferPointer) {
        guard case .success(let arp) = ARPPacket.parse(packet) else { return }
        var copy = [UInt8](repeating: 0, count: ARPPacket.size)
        copy.withUnsafeMutableBytes { arp.write(to: $0, at: 0) }
        require(copy == Array(packet[0..<ARPPacket.size]), "ARP round trip changed \(arp)")
    }

    mutating func check() {
        LinkInvariants.check(link.neighbors, now: ctx.now, interfaces: 1)
        arpEffects.frames.forEachFrame { interface, frame in
            require(interface == 0, "a frame for interface \(interface)")
            FrameInvariants.checkSent(frame, from: Self.mac, mtu: 1500)
        }
        arpEffects.removeAll()
        ctx.undeliverable.removeAll()
    }
}
