import TCPIPCore
import Testing

@Suite struct ARPPacketTests {
    static let request = LinuxCapture.slice(LinuxCapture.arpRequest, from: 14)
    static let replyBytes = WireTest.bytes("0001 0800 06 04 0002 020000000002 0a630002 020000000001 0a630001")

    @Test func parsesCapturedRequest() throws {
        let p = try Self.request.withUnsafeBytes { ARPPacket.parse($0) }.get()
        #expect(p.operation == ARPOperation.request)
        #expect(p.senderMAC == LinuxCapture.kernelMAC)
        #expect(p.senderIP == LinuxCapture.kernelIP)
        #expect(p.targetMAC == .zero)
        #expect(p.targetIP == LinuxCapture.peerIP)
    }

    @Test func writesGoldenReply() throws {
        let reply = ARPPacket(
            operation: ARPOperation.reply,
            senderMAC: LinuxCapture.peerMAC,
            senderIP: LinuxCapture.peerIP,
            targetMAC: LinuxCapture.kernelMAC,
            targetIP: LinuxCapture.kernelIP
        )
        var buffer = [UInt8](repeating: 0, count: 28)
        buffer.withUnsafeMutableBytes { reply.write(to: $0, at: 0) }
        #expect(buffer == Self.replyBytes)
        #expect(try Self.replyBytes.withUnsafeBytes { ARPPacket.parse($0) }.get() == reply)
    }

    @Test func ignoresEthernetPadding() throws {
        // A 60-byte minimum frame carries 18 bytes of padding after the 28-byte packet.
        let padded = Self.request + [UInt8](repeating: 0, count: 18)
        let p = try padded.withUnsafeBytes { ARPPacket.parse($0) }.get()
        #expect(p.targetIP == LinuxCapture.peerIP)
    }

    @Test func rejectsEveryTruncation() {
        for n in 0..<ARPPacket.size {
            let r = Array(Self.request[0..<n]).withUnsafeBytes { ARPPacket.parse($0) }
            #expect(r == .failure(.arpTooShort), "length \(n)")
        }
    }

    @Test(arguments: [
        (0, UInt8(0x01)), (1, 0x06),  // hardware types 0x0101 and 6 (IEEE 802)
        (2, 0x86), (3, 0xDD),  // protocol type IPv6
        (4, 8),  // hardware length
        (5, 16),  // protocol length
    ])
    func rejectsOtherHardwareOrProtocol(offset: Int, value: UInt8) {
        var bytes = Self.request
        bytes[offset] = value
        #expect(bytes.withUnsafeBytes { ARPPacket.parse($0) } == .failure(.arpBadHardware))
    }

    @Test(arguments: [UInt16(0), 3, 4, 0x0101, 0xFFFF])
    func rejectsUnknownOperations(op: UInt16) {
        var bytes = Self.request
        bytes[6] = UInt8(op >> 8)
        bytes[7] = UInt8(op & 0xFF)
        #expect(bytes.withUnsafeBytes { ARPPacket.parse($0) } == .failure(.arpBadOperation))
    }

    @Test func roundTripsRandomPackets() throws {
        var rng = SeededRandom(seed: 826)
        for _ in 0..<200 {
            let p = ARPPacket(
                operation: rng.chance(0.5) ? ARPOperation.request : ARPOperation.reply,
                senderMAC: MACAddress(rawValue: rng.next()),
                senderIP: IPv4Address(rawValue: UInt32(truncatingIfNeeded: rng.next())),
                targetMAC: MACAddress(rawValue: rng.next()),
                targetIP: IPv4Address(rawValue: UInt32(truncatingIfNeeded: rng.next()))
            )
            let at = Int(rng.next(below: 8))
            var buffer = WireTest.randomBytes(at + 28, using: &rng)
            buffer.withUnsafeMutableBytes { p.write(to: $0, at: at) }
            let back = try Array(buffer[at...]).withUnsafeBytes { ARPPacket.parse($0) }.get()
            #expect(back == p)
        }
    }

    @Test func randomBytesNeverTrap() {
        var rng = SeededRandom(seed: 1)
        for _ in 0..<2000 {
            var bytes = WireTest.randomBytes(Int(rng.next(below: 40)), using: &rng)
            if bytes.count >= 8, rng.chance(0.5) { bytes.replaceSubrange(0..<6, with: [0, 1, 8, 0, 6, 4]) }
            _ = bytes.withUnsafeBytes { ARPPacket.parse($0) }
        }
    }
}
