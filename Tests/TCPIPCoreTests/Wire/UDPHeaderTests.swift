import TCPIPCore
import Testing

@Suite struct UDPHeaderTests {
    static let datagram = LinuxCapture.slice(LinuxCapture.udp, from: 34)
    static let src = LinuxCapture.kernelIP
    static let dst = LinuxCapture.peerIP

    static func parse(
        _ bytes: [UInt8],
        source: IPv4Address = src,
        destination: IPv4Address = dst
    )
        -> Result<UDPHeader, DropReason>
    {
        bytes.withUnsafeBytes { UDPHeader.parse($0, source: source, destination: destination) }
    }

    @Test func parsesCapturedDatagram() throws {
        let h = try Self.parse(Self.datagram).get()
        #expect(h.sourcePort == 40000)
        #expect(h.destinationPort == 9999)
        #expect(h.length == 18)
        #expect(h.checksum == 0xFE50)
        #expect(h.payloadOffset == 8)
        #expect(h.payloadLength == 10)
        #expect(Array(Self.datagram[h.payloadOffset...]) == Array("hello udp\n".utf8))
    }

    @Test func writesGoldenDatagram() {
        var buffer = [UInt8](repeating: 0xEE, count: 8) + Array("hello udp\n".utf8)
        let h = UDPHeader(sourcePort: 40000, destinationPort: 9999, length: 18)
        buffer.withUnsafeMutableBytes { h.write(to: $0, at: 0, source: Self.src, destination: Self.dst) }
        #expect(buffer == Self.datagram)
    }

    @Test func theChecksumCoversThePseudoHeader() {
        #expect(Self.parse(Self.datagram, source: IPv4Address(10, 99, 0, 3)) == .failure(.udpBadChecksum))
        #expect(Self.parse(Self.datagram, destination: IPv4Address(10, 99, 0, 3)) == .failure(.udpBadChecksum))
        var bytes = Self.datagram
        bytes[12] ^= 0x20
        #expect(Self.parse(bytes) == .failure(.udpBadChecksum))
    }

    @Test func zeroChecksumMeansNotComputed() throws {
        // RFC 768, RFC 1122 §4.1.3.4: a zero checksum is not verified.
        var bytes = Self.datagram
        bytes[6] = 0
        bytes[7] = 0
        bytes[12] ^= 0x20
        let h = try Self.parse(bytes).get()
        #expect(h.checksum == 0)
    }

    @Test func aComputedZeroIsSentAsAllOnes() throws {
        // Choose the last data word so that the whole sum is 0xFFFF: the checksum computes to 0,
        // which RFC 768 transmits as 0xFFFF.
        var buffer = [UInt8](repeating: 0, count: 8) + Array("hello udp\n".utf8) + [0, 0]
        let h = UDPHeader(sourcePort: 40000, destinationPort: 9999, length: 20)
        buffer.withUnsafeMutableBytes { h.write(to: $0, at: 0, source: Self.src, destination: Self.dst) }
        let first = UInt16(buffer[6]) << 8 | UInt16(buffer[7])
        // With the filler word w, the folded sum is ~first + w; w = first makes it 0xFFFF.
        buffer[18] = UInt8(first >> 8)
        buffer[19] = UInt8(first & 0xFF)
        buffer.withUnsafeMutableBytes { h.write(to: $0, at: 0, source: Self.src, destination: Self.dst) }
        #expect(buffer[6] == 0xFF && buffer[7] == 0xFF)
        #expect(try Self.parse(buffer).get().checksum == 0xFFFF)
    }

    @Test func bytesPastTheLengthAreIgnored() throws {
        let h = try Self.parse(Self.datagram + [0xDE, 0xAD, 0xBE]).get()
        #expect(h.length == 18 && h.payloadLength == 10)
    }

    @Test func rejectsBadLengths() {
        for n in 0..<UDPHeader.size {
            #expect(Self.parse(Array(Self.datagram[0..<n])) == .failure(.udpTooShort), "length \(n)")
        }
        // Truncated data: the length field now runs past the bytes received.
        for n in UDPHeader.size..<Self.datagram.count {
            #expect(Self.parse(Array(Self.datagram[0..<n])) == .failure(.udpBadLength), "length \(n)")
        }
        for field in [0, 1, 7, 19, 0xFFFF] {
            var bytes = Self.datagram
            bytes[4] = UInt8(field >> 8)
            bytes[5] = UInt8(field & 0xFF)
            #expect(Self.parse(bytes) == .failure(.udpBadLength), "length field \(field)")
        }
    }

    @Test func roundTripsRandomDatagrams() throws {
        var rng = SeededRandom(seed: 17)
        for _ in 0..<300 {
            let src = IPv4Address(rawValue: UInt32(truncatingIfNeeded: rng.next()))
            let dst = IPv4Address(rawValue: UInt32(truncatingIfNeeded: rng.next()))
            let length = 8 + Int(rng.next(below: 200))
            let h = UDPHeader(
                sourcePort: UInt16.random(in: 0...0xFFFF, using: &rng),
                destinationPort: UInt16.random(in: 0...0xFFFF, using: &rng),
                length: length
            )
            let at = Int(rng.next(below: 3))
            var buffer = WireTest.randomBytes(at + length + 2, using: &rng)
            buffer.withUnsafeMutableBytes { h.write(to: $0, at: at, source: src, destination: dst) }
            var back = try Self.parse(Array(buffer[at...]), source: src, destination: dst).get()
            #expect(back.checksum != 0)
            back.checksum = 0
            #expect(back == h)
        }
    }

    @Test func randomBytesNeverTrap() {
        var rng = SeededRandom(seed: 3)
        for _ in 0..<3000 {
            var bytes = WireTest.randomBytes(Int(rng.next(below: 40)), using: &rng)
            if bytes.count >= 6, rng.chance(0.7) {
                bytes[4] = 0
                bytes[5] = UInt8(rng.next(below: 48))
            }
            _ = Self.parse(bytes)
        }
    }
}
