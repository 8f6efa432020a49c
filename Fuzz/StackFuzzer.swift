@testable import TCPIPCore

/// Fuzz target `Stack`: a sequence of frames fed to the whole sans-IO stack of
/// `StackFixture` (a listener, an established and an embryonic connection, one in SYN-SENT, a
/// UDP socket, a held fragment), with virtual time moving between frames and socket calls
/// made among them.
///
/// Each step is a control byte, a 2-byte length and that many frame bytes. The control byte:
/// bits 0–2 how far time moves first (0, 1 ms, 10 ms, 200 ms, 1 s, 5 s, 60 s, 10 min; every
/// timer fires at its own instant on the way); bits 3–4 repairs made to the frame (0 none,
/// 1 the IPv4 header and transport checksums, 2 also the IPv4 total length, 3 also the
/// Ethernet and IP addresses, peer to stack); bits 5–7 a socket call after the frame (see
/// `StackRun.call`). A frame longer than 1514 bytes comes with a super-frame's offload
/// metadata (`StackRun.receive`). After every step all of `StackInvariants` must hold and every frame sent
/// must be well formed (`FrameInvariants`).
@_cdecl("LLVMFuzzerTestOneInput")
public func stackFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data: data, size: size)
    var run = StackRun(StackFixture.shared)
    while !input.isAtEnd {
        let control = input.byte()
        run.advance(by: StackRun.steps[Int(control & 7)])
        var frame = Array(input.chunk())
        StackRun.repair(&frame, level: Int(control >> 3) & 3)
        run.receive(frame)
        run.call(Int(control >> 5), argument: frame.last ?? 0)
        run.check()
    }
    return 0
}

/// One run over a copy of the fixture's stack.
private struct StackRun {
    /// Time steps in nanoseconds.
    static let steps: [Int64] = [
        0, 1_000_000, 10_000_000, 200_000_000, 1_000_000_000, 5_000_000_000, 60_000_000_000, 600_000_000_000,
    ]
    var stack: Stack
    var now: Instant
    let fixture: StackFixture

    init(_ fixture: StackFixture) {
        self.fixture = fixture
        stack = fixture.stack
        now = fixture.stack.currentTime
        stackEffects.removeAll()
    }

    /// Moves the clock, firing every timer at its own instant (a bounded number of them).
    mutating func advance(by ns: Int64) {
        guard ns > 0 else { return }
        let target = now.adding(nanoseconds: ns)
        var steps = 0
        while let d = stack.nextDeadline(), d <= target, steps < 64 {
            if d > now { now = d }
            stack.advance(to: now, into: &stackEffects)
            checkSent()
            steps += 1
        }
        now = target
        stack.advance(to: now, into: &stackEffects)
        checkSent()
    }

    /// Feeds a frame; one longer than an Ethernet frame comes as a device's TCP super-frame
    /// would (GRO: `gso_type` TCPV4, the transport checksum left partial at the end of the IP
    /// header), so the offload paths take fuzzed input too.
    mutating func receive(_ frame: [UInt8]) {
        let t = now
        var offload = FrameOffload.none
        if frame.count > EthernetHeader.size + 1500 {
            let transport = EthernetHeader.size + Int(frame[EthernetHeader.size] & 0x0F) * 4
            offload = FrameOffload(
                flags: .needsChecksum,
                segmentationType: .tcpIPv4,
                headerLength: UInt16(transport + 20),
                segmentSize: 1460,
                checksumStart: UInt16(transport),
                checksumOffset: 16
            )
        }
        frame.withUnsafeBytes { stack.receive(frame: $0, interface: 0, now: t, offload: offload, into: &stackEffects) }
    }

    /// Socket calls: 0 none, 1 read the connection, 2 write 2000 bytes to it, 3 read the UDP
    /// socket, 4 accept, 5 shut the connection's sending side, 6 close it, 7 send a UDP
    /// datagram to 10.0.0.`argument` (mostly unresolved: it waits for ARP).
    mutating func call(_ call: Int, argument: UInt8) {
        let fd = fixture.connection
        switch call {
        case 1: _ = stack.receive(fd, max: 4096, into: &stackEffects)
        case 2:
            let data = [UInt8](repeating: argument, count: 2000)
            _ = data.withUnsafeBytes { stack.send(fd, $0, into: &stackEffects) }
        case 3: _ = stack.receiveFrom(fixture.udp, max: 65536)
        case 4: _ = stack.accept(fixture.listener, into: &stackEffects)
        case 5: _ = stack.shutdown(fd, how: .write, into: &stackEffects)
        case 6: _ = stack.close(fd, into: &stackEffects)
        case 7:
            let data = [UInt8](repeating: argument, count: 300)
            let to = IPv4Address(10, 0, 0, argument)
            _ = data.withUnsafeBytes { stack.sendTo(fixture.udp, $0, address: to, port: 9, into: &stackEffects) }
        default: break
        }
    }

    mutating func check() {
        checkSent()
        StackInvariants.check(stack)
    }

    /// Every frame sent is well formed; then they are forgotten.
    mutating func checkSent() {
        stackEffects.frames.forEachFrame { interface, frame in
            require(interface == 0, "a frame for interface \(interface)")
            FrameInvariants.checkSent(frame, from: StackFixture.localMAC, mtu: 1500, ipv4: true)
        }
        stackEffects.removeAll()
    }

    /// Makes a frame's lengths, addresses and checksums agree, as far as `level` asks.
    static func repair(_ frame: inout [UInt8], level: Int) {
        guard level > 0, frame.count >= EthernetHeader.size + 20 else { return }
        frame.withUnsafeMutableBytes { buf in
            if level >= 3 {
                EthernetHeader(
                    destination: StackFixture.localMAC,
                    source: StackFixture.peerMAC,
                    etherType: EtherType.ipv4
                )
                .write(to: buf, at: 0)
            }
            let packet = UnsafeMutableRawBufferPointer(rebasing: buf[EthernetHeader.size...])
            if level >= 3 {
                packet[0] = 0x40 | max(5, packet[0] & 0x0F)
                StackFixture.peerIP.write(to: packet, at: 12)
                StackFixture.localIP.write(to: packet, at: 16)
            }
            if level >= 2 { PacketRepair.setIPv4TotalLength(packet) }
            PacketRepair.setIPv4HeaderChecksum(packet)
            PacketRepair.setTransportChecksum(packet)
        }
    }
}

/// The effects every run reuses (one arena, not one allocation per input).
nonisolated(unsafe) private var stackEffects = Effects()
