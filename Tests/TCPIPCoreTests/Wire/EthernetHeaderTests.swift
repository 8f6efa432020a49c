import TCPIPCore
import Testing

@Suite struct EthernetHeaderTests {
    @Test func parsesCapturedFrame() throws {
        let frame = LinuxCapture.arpRequest
        let h = try frame.withUnsafeBytes { EthernetHeader.parse($0) }.get()
        #expect(h.destination == .broadcast)
        #expect(h.source == LinuxCapture.kernelMAC)
        #expect(h.etherType == EtherType.arp)
        #expect(h.payloadOffset == 14)
        #expect(h.payloadLength == 28)

        let ip = try LinuxCapture.syn.withUnsafeBytes { EthernetHeader.parse($0) }.get()
        #expect(ip.destination == LinuxCapture.peerMAC)
        #expect(ip.etherType == EtherType.ipv4)
        #expect(ip.payloadLength == LinuxCapture.syn.count - 14)
    }

    @Test func writesGoldenBytes() {
        let h = EthernetHeader(destination: .broadcast, source: LinuxCapture.kernelMAC, etherType: EtherType.arp)
        var buffer = [UInt8](repeating: 0xEE, count: 18)
        buffer.withUnsafeMutableBytes { h.write(to: $0, at: 2) }
        #expect(WireTest.hex(buffer) == "eeee" + "ffffffffffff0200000000010806" + "eeee")
    }

    @Test func rejectsEveryTruncation() {
        let frame = LinuxCapture.arpRequest
        for n in 0..<EthernetHeader.size {
            let r = Array(frame[0..<n]).withUnsafeBytes { EthernetHeader.parse($0) }
            #expect(r == .failure(.linkFrameTooShort), "length \(n)")
        }
        let exact = Array(frame[0..<14]).withUnsafeBytes { EthernetHeader.parse($0) }
        #expect((try? exact.get())?.payloadLength == 0)
    }

    @Test func roundTripsRandomHeaders() throws {
        var rng = SeededRandom(seed: 894)
        for _ in 0..<200 {
            let h = EthernetHeader(
                destination: MACAddress(rawValue: rng.next()),
                source: MACAddress(rawValue: rng.next()),
                etherType: UInt16.random(in: 0...0xFFFF, using: &rng)
            )
            let extra = Int(rng.next(below: 50))
            var buffer = WireTest.randomBytes(14 + extra, using: &rng)
            buffer.withUnsafeMutableBytes { h.write(to: $0, at: 0) }
            let back = try buffer.withUnsafeBytes { EthernetHeader.parse($0) }.get()
            #expect(
                back
                    == EthernetHeader(
                        destination: h.destination,
                        source: h.source,
                        etherType: h.etherType,
                        payloadLength: extra
                    )
            )
        }
    }
}
