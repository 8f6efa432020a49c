import TCPIPCore
import Testing

@Suite struct ICMPv4Tests {
    static let echoRequest = LinuxCapture.slice(LinuxCapture.echoRequest, from: 34)
    static let portUnreachable = LinuxCapture.slice(LinuxCapture.portUnreachable, from: 34)

    static func parse(_ bytes: [UInt8]) -> Result<ICMPv4Header, DropReason> {
        bytes.withUnsafeBytes { ICMPv4Header.parse($0) }
    }

    @Test func parsesCapturedEchoRequest() throws {
        let h = try Self.parse(Self.echoRequest).get()
        #expect(h.type == ICMPv4Type.echoRequest)
        #expect(h.code == 0)
        #expect(h.checksum == 0x860F)
        #expect(h.identifier == 0xB91A)
        #expect(h.sequenceNumber == 1)
        #expect(h.payloadOffset == 8)
        #expect(h.payloadLength == 56)
        #expect(!ICMPv4Header.isError(type: h.type))
    }

    @Test func parsesCapturedPortUnreachable() throws {
        let h = try Self.parse(Self.portUnreachable).get()
        #expect(h.type == ICMPv4Type.destinationUnreachable)
        #expect(h.code == ICMPv4UnreachableCode.port)
        #expect(h.restOfHeader == 0)
        #expect(h.payloadLength == 32)  // Linux quotes the whole (short) offending datagram
        #expect(ICMPv4Header.isError(type: h.type))
        let quoted = try Array(Self.portUnreachable[8...]).withUnsafeBytes { IPv4Header.parse($0) }.get()
        #expect(quoted.protocol == IPProtocol.udp && quoted.source == LinuxCapture.peerIP)
    }

    @Test func writesGoldenEchoRequest() {
        // The header is written over a buffer that already holds the 56 bytes of data.
        var buffer = [UInt8](repeating: 0xEE, count: 8) + Array(Self.echoRequest[8...])
        let h = ICMPv4Header(echoType: ICMPv4Type.echoRequest, identifier: 0xB91A, sequenceNumber: 1)
        buffer.withUnsafeMutableBytes { h.write(to: $0, at: 0, totalLength: 64) }
        #expect(buffer == Self.echoRequest)
    }

    @Test func writesGoldenFragmentationNeeded() throws {
        // RFC 1191 §4: type 3 code 4, unused 16 bits, then the next-hop MTU.
        var h = ICMPv4Header(type: ICMPv4Type.destinationUnreachable, code: ICMPv4UnreachableCode.fragmentationNeeded)
        h.nextHopMTU = 1400
        var buffer = [UInt8](repeating: 0, count: 8)
        buffer.withUnsafeMutableBytes { h.write(to: $0, at: 0, totalLength: 8) }
        #expect(WireTest.hex(buffer) == "0304f783" + "00000578")
        #expect(try Self.parse(buffer).get().nextHopMTU == 1400)
    }

    @Test func echoAccessorsShareTheRestOfHeader() {
        var h = ICMPv4Header(type: ICMPv4Type.echoReply, code: 0, restOfHeader: 0x1234_5678)
        #expect(h.identifier == 0x1234 && h.sequenceNumber == 0x5678)
        h.identifier = 0xAAAA
        h.sequenceNumber = 0xBBBB
        #expect(h.restOfHeader == 0xAAAA_BBBB)
        #expect(ICMPv4Header(type: 12, code: 0, restOfHeader: 0x1400_0000).pointer == 20)
        #expect(ICMPv4Header(type: 5, code: 1, restOfHeader: 0x0A00_0001).gateway == IPv4Address(10, 0, 0, 1))
    }

    @Test func errorTypesAreExactlyTheRFC1122Set() {
        for t in 0...255 {
            let want = [3, 4, 5, 11, 12].contains(t)
            #expect(ICMPv4Header.isError(type: UInt8(t)) == want, "type \(t)")
        }
        #expect(ICMPv4TimeExceededCode.ttl == 0 && ICMPv4TimeExceededCode.reassembly == 1)
    }

    @Test func rejectsEveryTruncationAndBadChecksums() {
        for n in 0..<ICMPv4Header.size {
            #expect(Self.parse(Array(Self.echoRequest[0..<n])) == .failure(.icmpTooShort), "length \(n)")
        }
        // Truncating the body breaks the checksum, which covers the whole message.
        for n in 8..<Self.echoRequest.count {
            #expect(Self.parse(Array(Self.echoRequest[0..<n])) == .failure(.icmpBadChecksum), "length \(n)")
        }
        var bytes = Self.echoRequest
        bytes[40] ^= 1
        #expect(Self.parse(bytes) == .failure(.icmpBadChecksum))
    }

    @Test func roundTripsRandomMessagesOfOddAndEvenLengths() throws {
        var rng = SeededRandom(seed: 792)
        for _ in 0..<300 {
            let h = ICMPv4Header(
                type: UInt8.random(in: 0...255, using: &rng),
                code: UInt8.random(in: 0...255, using: &rng),
                restOfHeader: UInt32(truncatingIfNeeded: rng.next())
            )
            let total = 8 + Int(rng.next(below: 101))
            let at = Int(rng.next(below: 3))
            var buffer = WireTest.randomBytes(at + total + 3, using: &rng)
            buffer.withUnsafeMutableBytes { h.write(to: $0, at: at, totalLength: total) }
            let back = try Self.parse(Array(buffer[at..<at + total])).get()
            #expect(back.type == h.type && back.code == h.code && back.restOfHeader == h.restOfHeader)
            #expect(back.payloadLength == total - 8)
            #expect(back.checksum == UInt16(buffer[at + 2]) << 8 | UInt16(buffer[at + 3]))
        }
    }
}
