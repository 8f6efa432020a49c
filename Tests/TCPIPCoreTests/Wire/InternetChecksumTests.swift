import TCPIPCore
import Testing

@Suite struct InternetChecksumTests {
    /// A direct RFC 1071 §4.1 sum: 16-bit big-endian words, odd byte padded, carries folded.
    static func referenceSum(_ bytes: [UInt8]) -> UInt16 {
        var s: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            s += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            s = (s & 0xFFFF) + (s >> 16)
            i += 2
        }
        if i < bytes.count {
            s += UInt32(bytes[i]) << 8
            s = (s & 0xFFFF) + (s >> 16)
        }
        return UInt16(s)
    }

    @Test func rfc1071Section3Example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (the checksum is its complement).
        let bytes = WireTest.bytes("0001 f203 f4f5 f6f7")
        var c = InternetChecksum()
        bytes.withUnsafeBytes { c.add($0) }
        #expect(c.folded == 0xDDF2)
        #expect(c.value == 0x220D)
        #expect(bytes.withUnsafeBytes { InternetChecksum.checksum($0) } == 0x220D)
    }

    @Test func realIPv4HeaderChecksum() {
        var header = WireTest.bytes("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7")
        #expect(header.withUnsafeBytes { InternetChecksum.verifies($0) })
        header[10] = 0
        header[11] = 0
        #expect(header.withUnsafeBytes { InternetChecksum.checksum($0) } == 0xB861)
        #expect(!header.withUnsafeBytes { InternetChecksum.verifies($0) })
    }

    @Test func emptyAndSingleBytes() {
        #expect([UInt8]().withUnsafeBytes { InternetChecksum.checksum($0) } == 0xFFFF)
        // RFC 1071 §4.1: an odd final byte is the high byte of a word padded with zero.
        #expect([UInt8(0xAB)].withUnsafeBytes { InternetChecksum.checksum($0) } == ~UInt16(0xAB00))
        #expect(WireTest.bytes("0001 f2").withUnsafeBytes { InternetChecksum.checksum($0) } == ~UInt16(0xF201))
    }

    @Test func matchesReferenceAtEveryLengthAndAlignment() {
        var rng = SeededRandom(seed: 1071)
        for length in 0..<200 {
            let bytes = WireTest.randomBytes(length + 3, using: &rng)
            for start in 0..<3 {
                let slice = Array(bytes[start..<start + length])
                let got = bytes.withUnsafeBytes { raw in
                    var c = InternetChecksum()
                    c.add(UnsafeRawBufferPointer(rebasing: raw[start..<start + length]))
                    return c.folded
                }
                let want = Self.referenceSum(slice)
                // End-around carry never turns a non-zero sum into 0x0000, in either algorithm.
                #expect(got == want, "length \(length) start \(start)")
            }
        }
    }

    @Test func allOnesDataDoesNotOverflow() {
        // 32767 words of 0xFFFF: ones' complement zero, so the checksum is 0 (not 0xFFFF).
        let bytes = [UInt8](repeating: 0xFF, count: 65_534)
        #expect(bytes.withUnsafeBytes { InternetChecksum.checksum($0) } == 0)
        #expect(bytes.withUnsafeBytes { InternetChecksum.verifies($0) })
    }

    @Test func chunkedAddsEqualOneAdd() {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<100 {
            let length = Int(rng.next(below: 300))
            let bytes = WireTest.randomBytes(length, using: &rng)
            let whole = bytes.withUnsafeBytes { InternetChecksum.checksum($0) }
            // Split at even offsets (only the last chunk may be odd).
            var cut = Int(rng.next(below: UInt64(length + 1)))
            cut &= ~1
            var c = InternetChecksum()
            bytes.withUnsafeBytes { raw in
                c.add(UnsafeRawBufferPointer(rebasing: raw[0..<cut]))
                c.add(UnsafeRawBufferPointer(rebasing: raw[cut..<length]))
            }
            #expect(c.value == whole)
        }
    }

    @Test func pseudoHeaderEqualsExplicitBytes() {
        // RFC 768 / RFC 9293 §3.1: source, destination, zero, protocol, length.
        var rng = SeededRandom(seed: 768)
        for _ in 0..<50 {
            let src = IPv4Address(rawValue: UInt32(truncatingIfNeeded: rng.next()))
            let dst = IPv4Address(rawValue: UInt32(truncatingIfNeeded: rng.next()))
            let proto = UInt8.random(in: 0...255, using: &rng)
            let length = Int(rng.next(below: 65_536))
            var explicit = [UInt8](repeating: 0, count: 12)
            explicit.withUnsafeMutableBytes { b in
                src.write(to: b, at: 0)
                dst.write(to: b, at: 4)
                b[9] = proto
                b.setBE16(10, UInt16(length))
            }
            var c = InternetChecksum()
            c.addPseudoHeader(source: src, destination: dst, protocol: proto, length: length)
            #expect(c.value == explicit.withUnsafeBytes { InternetChecksum.checksum($0) })
        }
    }
}
