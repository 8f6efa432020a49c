import TCPIPCore
import Testing

@Suite struct TCPHeaderTests {
    static let syn = LinuxCapture.slice(LinuxCapture.syn, from: 34)
    static let data = LinuxCapture.slice(LinuxCapture.data, from: 34)
    static let dupAck = LinuxCapture.slice(LinuxCapture.dupAckWithSACK, from: 34)
    static let src = LinuxCapture.kernelIP
    static let dst = LinuxCapture.peerIP

    static func parse(
        _ bytes: [UInt8],
        source: IPv4Address = src,
        destination: IPv4Address = dst
    )
        -> Result<TCPHeader, DropReason>
    {
        bytes.withUnsafeBytes { TCPHeader.parse($0, source: source, destination: destination) }
    }

    @Test func parsesCapturedLinuxSYN() throws {
        let h = try Self.parse(Self.syn).get()
        #expect(h.sourcePort == 49252)
        #expect(h.destinationPort == 8080)
        #expect(h.sequenceNumber == 0x9CC8_8621)
        #expect(h.acknowledgmentNumber == 0)
        #expect(h.dataOffset == 40)
        #expect(h.flags == .syn)
        #expect(h.window == 64240)
        #expect(h.checksum == 0xCA6B)
        #expect(h.urgentPointer == 0)
        #expect(h.options.mss == 1460)
        #expect(h.options.sackPermitted)
        #expect(h.options.windowScale == 10)
        #expect(h.options.timestamps == .init(value: 0x806D_EA8B, echoReply: 0))
        #expect(h.payloadOffset == 40)
        #expect(h.payloadLength == 0)
        #expect(h.sequenceLength == 1)
    }

    @Test func parsesCapturedDataAndSACK() throws {
        let d = try Self.parse(Self.data).get()
        #expect(d.flags == [.psh, .ack])
        #expect(d.acknowledgmentNumber == 0x1000_0001)
        #expect(d.window == 63)
        #expect(d.dataOffset == 32)
        #expect(d.options == TCPOptions(timestamps: .init(value: 0x806D_EA8B, echoReply: 0xABCD_EF01)))
        #expect(Array(Self.data[d.payloadOffset...]) == Array("hello".utf8))
        #expect(d.payloadLength == 5 && d.sequenceLength == 5)

        let a = try Self.parse(Self.dupAck).get()
        #expect(a.flags == .ack)
        #expect(a.dataOffset == 44)
        #expect(a.options.sackBlocks.count == 1)
        #expect(a.options.sackBlocks[0] == (0x1000_0065, 0x1000_006F))
        #expect(a.payloadLength == 0)
    }

    @Test func writesGoldenSYN() {
        let h = TCPHeader(
            sourcePort: 49252,
            destinationPort: 8080,
            sequenceNumber: 0x9CC8_8621,
            acknowledgmentNumber: 0,
            flags: .syn,
            window: 64240,
            options: TCPOptions(
                mss: 1460,
                windowScale: 10,
                sackPermitted: true,
                timestamps: .init(value: 0x806D_EA8B, echoReply: 0)
            )
        )
        #expect(h.encodedLength == 40 && h.dataOffset == 40)
        var buffer = [UInt8](repeating: 0xEE, count: 40)
        let n = buffer.withUnsafeMutableBytes {
            h.write(to: $0, at: 0, source: Self.src, destination: Self.dst, totalLength: 40)
        }
        #expect(n == 40)
        #expect(buffer == Self.syn)
    }

    @Test func writesGoldenDataSegmentOverItsPayload() {
        // The payload already sits after the header's room, as the send path lays it out.
        let h = TCPHeader(
            sourcePort: 49252,
            destinationPort: 8080,
            sequenceNumber: 0x9CC8_8622,
            acknowledgmentNumber: 0x1000_0001,
            flags: [.psh, .ack],
            window: 63,
            options: TCPOptions(timestamps: .init(value: 0x806D_EA8B, echoReply: 0xABCD_EF01))
        )
        var buffer = [UInt8](repeating: 0xEE, count: 3 + h.encodedLength) + Array("hello".utf8)
        buffer.withUnsafeMutableBytes {
            _ = h.write(to: $0, at: 3, source: Self.src, destination: Self.dst, totalLength: h.encodedLength + 5)
        }
        #expect(Array(buffer[0..<3]) == [0xEE, 0xEE, 0xEE])
        #expect(Array(buffer[3...]) == Self.data)
    }

    @Test func flagsPrintLikeTcpdump() {
        #expect(TCPFlags.syn.description == "[S]")
        #expect(TCPFlags([.syn, .ack]).description == "[S.]")
        #expect(TCPFlags([.fin, .psh, .ack]).description == "[FP.]")
        #expect(TCPFlags.ack.description == "[.]")
        #expect(TCPFlags.rst.description == "[R]")
        #expect(TCPFlags(rawValue: 0xFF).description == "[SFRPUEW.]")
    }

    @Test func rejectsEveryTruncation() {
        for (name, segment) in [("syn", Self.syn), ("data", Self.data), ("dupAck", Self.dupAck)] {
            let headerLength = Int(segment[12] >> 4) * 4
            for n in 0..<segment.count {
                let want: DropReason = n < 20 ? .tcpTooShort : n < headerLength ? .tcpBadDataOffset : .tcpBadChecksum
                #expect(Self.parse(Array(segment[0..<n])) == .failure(want), "\(name) length \(n)")
            }
        }
    }

    @Test func rejectsBadDataOffsets() {
        for offsetWords in [0, 1, 4] {
            var bytes = Self.syn
            bytes[12] = UInt8(offsetWords << 4)
            #expect(Self.parse(bytes) == .failure(.tcpBadDataOffset), "offset \(offsetWords)")
        }
        var bytes = Self.syn
        bytes[12] = 0xF0  // 60 bytes in a 40-byte segment
        #expect(Self.parse(bytes) == .failure(.tcpBadDataOffset))
    }

    @Test func theChecksumCoversPseudoHeaderHeaderAndData() {
        #expect(Self.parse(Self.data, source: IPv4Address(10, 99, 0, 9)) == .failure(.tcpBadChecksum))
        #expect(Self.parse(Self.data, destination: IPv4Address(10, 99, 0, 9)) == .failure(.tcpBadChecksum))
        var bytes = Self.data
        bytes[bytes.count - 1] ^= 1
        #expect(Self.parse(bytes) == .failure(.tcpBadChecksum))
        bytes = Self.syn
        bytes[14] ^= 0x80
        #expect(Self.parse(bytes) == .failure(.tcpBadChecksum))
    }

    @Test func badOptionsAreCheckedAfterTheChecksum() {
        var bytes = Self.syn
        bytes[21] = 0  // the MSS option's length
        #expect(Self.parse(bytes) == .failure(.tcpBadChecksum))
        WireTest.fixTCPChecksum(&bytes, source: Self.src, destination: Self.dst)
        #expect(Self.parse(bytes) == .failure(.tcpBadOptions))
        bytes = Self.syn
        bytes.replaceSubrange(36..<40, with: [1, 1, 1, 8])  // a last kind with no length byte
        WireTest.fixTCPChecksum(&bytes, source: Self.src, destination: Self.dst)
        #expect(Self.parse(bytes) == .failure(.tcpBadOptions))
    }

    @Test func roundTripsRandomSegments() throws {
        var rng = SeededRandom(seed: 9293)
        for _ in 0..<500 {
            var o = TCPOptions()
            if rng.chance(0.3) { o.mss = UInt16.random(in: 0...0xFFFF, using: &rng) }
            if rng.chance(0.3) { o.windowScale = UInt8.random(in: 0...14, using: &rng) }
            o.sackPermitted = rng.chance(0.3)
            if rng.chance(0.5) {
                o.timestamps = .init(
                    value: UInt32(truncatingIfNeeded: rng.next()),
                    echoReply: UInt32(truncatingIfNeeded: rng.next())
                )
            }
            if rng.chance(0.3) {
                for _ in 0..<Int(rng.next(below: 3)) {
                    o.sackBlocks.append(
                        left: UInt32(truncatingIfNeeded: rng.next()),
                        right: UInt32(truncatingIfNeeded: rng.next())
                    )
                }
            }
            let payload = Int(rng.next(below: 300))
            let h = TCPHeader(
                sourcePort: UInt16.random(in: 0...0xFFFF, using: &rng),
                destinationPort: UInt16.random(in: 0...0xFFFF, using: &rng),
                sequenceNumber: UInt32(truncatingIfNeeded: rng.next()),
                acknowledgmentNumber: UInt32(truncatingIfNeeded: rng.next()),
                flags: TCPFlags(rawValue: UInt8.random(in: 0...255, using: &rng)),
                window: UInt16.random(in: 0...0xFFFF, using: &rng),
                urgentPointer: UInt16.random(in: 0...0xFFFF, using: &rng),
                options: o,
                payloadLength: payload
            )
            let src = IPv4Address(rawValue: UInt32(truncatingIfNeeded: rng.next()))
            let dst = IPv4Address(rawValue: UInt32(truncatingIfNeeded: rng.next()))
            let at = Int(rng.next(below: 4))
            let total = h.encodedLength + payload
            var buffer = WireTest.randomBytes(at + total + 1, using: &rng)
            let n = buffer.withUnsafeMutableBytes {
                h.write(to: $0, at: at, source: src, destination: dst, totalLength: total)
            }
            #expect(n == h.encodedLength)
            var back = try Self.parse(Array(buffer[at..<at + total]), source: src, destination: dst).get()
            #expect(back.checksum == UInt16(buffer[at + 16]) << 8 | UInt16(buffer[at + 17]))
            back.checksum = 0
            #expect(back == h)
        }
    }

    @Test func randomAndMutatedBytesNeverTrap() {
        var rng = SeededRandom(seed: 5)
        for _ in 0..<3000 {
            var bytes: [UInt8]
            if rng.chance(0.5) {
                bytes = WireTest.randomBytes(Int(rng.next(below: 80)), using: &rng)
            } else {
                bytes = rng.chance(0.5) ? Self.syn : Self.dupAck
                for _ in 0..<Int(rng.next(below: 4)) {
                    bytes[20 + Int(rng.next(below: UInt64(bytes.count - 20)))] = UInt8(rng.next(below: 12))
                }
                if rng.chance(0.3) { bytes[12] = UInt8(rng.next(below: 16)) << 4 }
                if rng.chance(0.3) { bytes.removeLast(Int(rng.next(below: UInt64(bytes.count)))) }
            }
            // Valid checksums make the options walk run on the mutated bytes.
            if bytes.count >= 20, rng.chance(0.8) {
                WireTest.fixTCPChecksum(&bytes, source: Self.src, destination: Self.dst)
            }
            _ = Self.parse(bytes)
        }
    }
}
