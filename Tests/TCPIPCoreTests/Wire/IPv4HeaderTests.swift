import TCPIPCore
import Testing

@Suite struct IPv4HeaderTests {
    static let synPacket = LinuxCapture.slice(LinuxCapture.syn, from: 14)

    static func parse(_ bytes: [UInt8]) -> Result<IPv4Header, DropReason> {
        bytes.withUnsafeBytes { IPv4Header.parse($0) }
    }

    /// A valid packet with `options` (a multiple of 4 bytes) and 8 bytes of payload.
    static func packet(options: [UInt8]) -> [UInt8] {
        var bytes = Array(synPacket[0..<20]) + options + [UInt8](repeating: 0x55, count: 8)
        bytes[0] = 0x40 | UInt8((20 + options.count) / 4)
        bytes[2] = 0
        bytes[3] = UInt8(bytes.count)
        WireTest.fixIPv4Checksum(&bytes)
        return bytes
    }

    @Test func parsesCapturedSYN() throws {
        let h = try Self.parse(Self.synPacket).get()
        #expect(h.version == 4)
        #expect(h.headerLength == 20)
        #expect(h.tos == 0)
        #expect(h.totalLength == 60)
        #expect(h.identification == 0xA31F)
        #expect(h.dontFragment && !h.moreFragments && h.fragmentOffset == 0 && !h.isFragment)
        #expect(h.ttl == 64)
        #expect(h.protocol == IPProtocol.tcp)
        #expect(h.checksum == 0x82D4)
        #expect(h.source == LinuxCapture.kernelIP)
        #expect(h.destination == LinuxCapture.peerIP)
        #expect(h.payloadOffset == 20)
        #expect(h.payloadLength == 40)
    }

    @Test func parsesCapturedICMPErrorWithTOS() throws {
        let h = try Self.parse(LinuxCapture.slice(LinuxCapture.portUnreachable, from: 14)).get()
        #expect(h.tos == 0xC0)
        #expect(!h.dontFragment)
        #expect(h.protocol == IPProtocol.icmp)
        #expect(h.payloadLength == 40)
    }

    @Test func parsesTheClassicChecksumExample() throws {
        // The well-known 192.168.0.1 → 192.168.0.199 UDP header, with its 95 bytes of payload.
        let bytes =
            WireTest.bytes("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7") + [UInt8](repeating: 0, count: 95)
        let h = try Self.parse(bytes).get()
        #expect(h.checksum == 0xB861)
        #expect(h.protocol == IPProtocol.udp)
        #expect(h.source == IPv4Address(192, 168, 0, 1))
        #expect(h.destination == IPv4Address(192, 168, 0, 199))
        #expect(h.payloadLength == 95)
    }

    @Test func ignoresLinkPaddingPastTotalLength() throws {
        // A short UDP packet padded to the 46-byte Ethernet minimum payload.
        let udp = LinuxCapture.slice(LinuxCapture.udp, from: 14)
        let h = try Self.parse(udp + [UInt8](repeating: 0, count: 8)).get()
        #expect(h.totalLength == 38)
        #expect(h.payloadLength == 18)
    }

    @Test func writesGoldenBytes() {
        let h = IPv4Header(
            totalLength: 38,
            identification: 0x4B5A,
            dontFragment: true,
            ttl: 64,
            protocol: IPProtocol.udp,
            source: LinuxCapture.kernelIP,
            destination: LinuxCapture.peerIP
        )
        var buffer = [UInt8](repeating: 0xEE, count: 20)
        buffer.withUnsafeMutableBytes { h.write(to: $0, at: 0) }
        #expect(buffer == Array(LinuxCapture.udp[14..<34]))
    }

    @Test func writesFragmentFields() throws {
        // MF with offset 1480 bytes: field 185 = 0xb9, flags 0x2000.
        let h = IPv4Header(
            totalLength: 1500,
            identification: 7,
            moreFragments: true,
            fragmentOffset: 1480,
            ttl: 1,
            protocol: IPProtocol.icmp,
            source: IPv4Address(10, 0, 0, 1),
            destination: IPv4Address(10, 0, 0, 2)
        )
        var buffer = [UInt8](repeating: 0, count: 1500)
        buffer.withUnsafeMutableBytes { h.write(to: $0, at: 0) }
        #expect(
            WireTest.hex(buffer[0..<20]) == "450005dc000720b90101" + WireTest.hex(buffer[10..<12]) + "0a0000010a000002"
        )
        let back = try Self.parse(buffer).get()
        #expect(back.moreFragments && !back.dontFragment && back.fragmentOffset == 1480 && back.isFragment)
    }

    @Test func checksAreMadeInOrder() {
        var bytes = Self.synPacket
        bytes[0] = 0x65  // version 6
        #expect(Self.parse(bytes) == .failure(.ipBadVersion))
        bytes = Self.synPacket
        bytes[0] = 0x44  // IHL 4
        #expect(Self.parse(bytes) == .failure(.ipBadHeaderLength))
        bytes = Self.synPacket
        bytes[0] = 0x40  // IHL 0
        #expect(Self.parse(bytes) == .failure(.ipBadHeaderLength))
        bytes = Array(Self.synPacket[0..<20])
        bytes[0] = 0x46  // IHL 6 in a 20-byte buffer
        #expect(Self.parse(bytes) == .failure(.ipBadHeaderLength))
        bytes = Self.synPacket
        bytes[0] = 0x4F  // IHL 15 = 60 bytes ≤ buffer, but total length 60 is fine: checksum fails next
        #expect(Self.parse(bytes) == .failure(.ipBadChecksum))
        bytes = Self.synPacket
        bytes[3] = 19  // total length below the header length
        #expect(Self.parse(bytes) == .failure(.ipBadTotalLength))
        bytes = Self.synPacket
        bytes[3] = 61  // total length past the buffer
        #expect(Self.parse(bytes) == .failure(.ipBadTotalLength))
        bytes = Self.synPacket
        bytes[8] = 63  // TTL changed, checksum not updated
        #expect(Self.parse(bytes) == .failure(.ipBadChecksum))
    }

    @Test func rejectsEveryTruncation() {
        let packet = Self.packet(options: [1, 1, 1, 0])
        for n in 0..<packet.count {
            let want: DropReason = n < 20 ? .ipTooShort : n < 24 ? .ipBadHeaderLength : .ipBadTotalLength
            #expect(Self.parse(Array(packet[0..<n])) == .failure(want), "length \(n)")
        }
        #expect((try? Self.parse(packet).get())?.headerLength == 24)
    }

    @Test(arguments: [
        [UInt8]([1, 1, 1, 1]),  // NOPs
        [0, 0xFF, 0xFF, 0xFF],  // EOL, then anything
        [1, 0, 0xFF, 0xFF],  // NOP, EOL, then anything
        [0x94, 4, 0, 0],  // Router Alert (RFC 2113)
        [7, 7, 4, 0, 0, 0, 0, 0],  // Record Route with one empty slot
        [0x44, 4, 5, 0],  // Timestamp, no room yet
        [0x88, 2, 1, 0],  // unknown option, length 2, then NOP EOL
    ])
    func acceptsWellFormedOptions(options: [UInt8]) throws {
        let h = try Self.parse(Self.packet(options: options)).get()
        #expect(h.headerLength == 20 + options.count)
        #expect(h.payloadOffset == h.headerLength)
        #expect(h.payloadLength == 8)
    }

    @Test(arguments: [
        [UInt8]([1, 1, 1, 7]),  // length byte missing
        [7, 0, 0, 0],  // length 0
        [7, 1, 0, 0],  // length 1
        [7, 5, 0, 0],  // runs past the header
        [1, 0x94, 255, 0],  // runs far past the header
        [7, 3, 4, 0x82],  // second option's length byte missing
    ])
    func rejectsMalformedOptions(options: [UInt8]) {
        #expect(Self.parse(Self.packet(options: options)) == .failure(.ipBadOptions))
    }

    @Test func roundTripsRandomHeaders() throws {
        var rng = SeededRandom(seed: 791)
        for _ in 0..<300 {
            let payload = Int(rng.next(below: 100))
            let h = IPv4Header(
                tos: UInt8.random(in: 0...255, using: &rng),
                totalLength: 20 + payload,
                identification: UInt16.random(in: 0...0xFFFF, using: &rng),
                dontFragment: rng.chance(0.5),
                moreFragments: rng.chance(0.5),
                fragmentOffset: Int(rng.next(below: 8192)) * 8,
                ttl: UInt8.random(in: 0...255, using: &rng),
                protocol: UInt8.random(in: 0...255, using: &rng),
                source: IPv4Address(rawValue: UInt32(truncatingIfNeeded: rng.next())),
                destination: IPv4Address(rawValue: UInt32(truncatingIfNeeded: rng.next()))
            )
            let at = Int(rng.next(below: 4))
            var buffer = WireTest.randomBytes(at + 20 + payload, using: &rng)
            buffer.withUnsafeMutableBytes { h.write(to: $0, at: at) }
            var back = try Self.parse(Array(buffer[at...])).get()
            #expect(back.checksum == UInt16(buffer[at + 10]) << 8 | UInt16(buffer[at + 11]))
            back.checksum = 0
            #expect(back == h)
        }
    }

    @Test func randomAndMutatedBytesNeverTrap() {
        var rng = SeededRandom(seed: 2)
        for _ in 0..<3000 {
            var bytes: [UInt8]
            if rng.chance(0.5) {
                bytes = WireTest.randomBytes(Int(rng.next(below: 80)), using: &rng)
                if !bytes.isEmpty { bytes[0] = 0x40 | bytes[0] & 0x0F }
            } else {
                bytes = Self.packet(options: WireTest.randomBytes(4 * Int(rng.next(below: 11)), using: &rng))
                if rng.chance(0.5) { bytes.removeLast(Int(rng.next(below: UInt64(bytes.count)))) }
            }
            _ = Self.parse(bytes)
        }
    }
}
