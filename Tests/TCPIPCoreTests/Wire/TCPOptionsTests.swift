import TCPIPCore
import Testing

@Suite struct TCPOptionsTests {
    static func parse(_ bytes: [UInt8]) -> Result<TCPOptions, DropReason> {
        bytes.withUnsafeBytes { TCPOptions.parse($0) }
    }

    static func encode(_ options: TCPOptions) -> [UInt8] {
        var buffer = [UInt8](repeating: 0xEE, count: options.encodedLength + 2)
        let n = buffer.withUnsafeMutableBytes { options.write(to: $0, at: 1) }
        #expect(n == options.encodedLength)
        #expect(buffer.first == 0xEE && buffer.last == 0xEE)
        return Array(buffer[1..<1 + n])
    }

    static func blocks(_ pairs: [(UInt32, UInt32)]) -> SACKBlocks {
        var b = SACKBlocks()
        for (l, r) in pairs { b.append(left: l, right: r) }
        return b
    }

    static let linuxSYN = WireTest.bytes("020405b4 0402080a 806dea8b 00000000 0103030a")

    @Test func parsesLinuxSYNOptions() throws {
        let o = try Self.parse(Self.linuxSYN).get()
        #expect(o.mss == 1460)
        #expect(o.sackPermitted)
        #expect(o.timestamps == TCPOptions.Timestamps(value: 0x806D_EA8B, echoReply: 0))
        #expect(o.windowScale == 10)
        #expect(o.sackBlocks.isEmpty)
    }

    @Test func writesLinuxLayouts() {
        let ts = TCPOptions.Timestamps(value: 0x806D_EA8B, echoReply: 0)
        // SYN: MSS, SACK-permitted fused with TS, NOP WS.
        let syn = TCPOptions(mss: 1460, windowScale: 10, sackPermitted: true, timestamps: ts)
        #expect(syn.encodedLength == 20)
        #expect(Self.encode(syn) == Self.linuxSYN)
        // The brief's example: window scale 7.
        let syn7 = TCPOptions(mss: 1460, windowScale: 7, sackPermitted: true, timestamps: ts)
        #expect(WireTest.hex(Self.encode(syn7)) == "020405b40402080a806dea8b0000000001030307")
        // Data segments: NOP NOP TS.
        let data = TCPOptions(timestamps: .init(value: 0x806D_EA8B, echoReply: 0xABCD_EF01))
        #expect(WireTest.hex(Self.encode(data)) == "0101080a806dea8babcdef01")
        // SYN without timestamps: MSS, NOP NOP SACK-permitted, NOP WS.
        let noTS = TCPOptions(mss: 536, windowScale: 0, sackPermitted: true)
        #expect(WireTest.hex(Self.encode(noTS)) == "02040218" + "01010402" + "01030300")
        // Timestamps without SACK-permitted.
        let tsOnly = TCPOptions(mss: 1460, timestamps: .init(value: 1, echoReply: 2))
        #expect(WireTest.hex(Self.encode(tsOnly)) == "020405b4" + "0101080a0000000100000002")
        #expect(Self.encode(TCPOptions()).isEmpty)
        #expect(TCPOptions().isEmpty && !syn.isEmpty)
    }

    @Test func writesAndParsesLinuxSACK() throws {
        // From the captured duplicate ACK: NOP NOP TS, NOP NOP SACK with one block.
        let bytes = WireTest.bytes("0101080a 806dea8b abcdef01 0101050a 10000065 1000006f")
        let o = try Self.parse(bytes).get()
        #expect(o.timestamps == .init(value: 0x806D_EA8B, echoReply: 0xABCD_EF01))
        #expect(o.sackBlocks.count == 1)
        #expect(o.sackBlocks[0] == (0x1000_0065, 0x1000_006F))
        #expect(Self.encode(o) == bytes)
    }

    @Test func sackBlocksAreCappedToTheOptionSpace() throws {
        let four = Self.blocks([(1, 2), (3, 4), (5, 6), (7, 8)])
        // Alone: 4 + 32 = 36 bytes, all four blocks.
        let alone = TCPOptions(sackBlocks: four)
        #expect(alone.encodedLength == 36)
        #expect(try Self.parse(Self.encode(alone)).get() == alone)
        // With timestamps: 12 + 4 + 24 = 40, three blocks (as Linux), the first ones kept.
        let withTS = TCPOptions(sackBlocks: four, timestamps: .init(value: 9, echoReply: 10))
        #expect(withTS.encodedSACKBlockCount == 3)
        #expect(withTS.encodedLength == 40)
        let back = try Self.parse(Self.encode(withTS)).get()
        #expect(back.sackBlocks == Self.blocks([(1, 2), (3, 4), (5, 6)]))
        // With MSS, TS and WS (20 bytes): two blocks.
        let crowded = TCPOptions(mss: 1, windowScale: 1, sackBlocks: four, timestamps: .init(value: 9, echoReply: 10))
        #expect(crowded.encodedSACKBlockCount == 2 && crowded.encodedLength == 40)
    }

    @Test func sackBlocksHoldFourInline() {
        var b = SACKBlocks()
        #expect(b.isEmpty)
        for i in 0..<4 {
            let added = b.append(left: UInt32(i), right: UInt32(i + 100))
            #expect(added)
        }
        let fifth = b.append(left: 9, right: 9)
        #expect(!fifth)
        #expect(b.count == 4)
        #expect(b.map(\.left) == [0, 1, 2, 3])
        #expect(b[3] == (3, 103))
        b.removeAll()
        #expect(b == SACKBlocks())
    }

    @Test(arguments: [
        [UInt8](),
        [1, 1, 1, 1],
        [0, 2, 0, 0],  // EOL, then bytes that would be malformed
        [1, 0, 0xFF],  // NOP, EOL, then a lone byte
        [0xFE, 4, 0xAB, 0xCD],  // unknown option (experimental, RFC 6994) skipped
        [0x22, 2],  // unknown option, length 2
        [UInt8](repeating: 1, count: 40),
    ])
    func acceptsOptionsWithNothingWeKnow(bytes: [UInt8]) throws {
        #expect(try Self.parse(bytes).get() == TCPOptions())
    }

    @Test(arguments: [
        [UInt8]([2, 3, 5, 1]),  // MSS with length 3
        [2, 6, 5, 0xB4, 0, 0],  // MSS with length 6
        [3, 4, 7, 0],  // WS with length 4
        [4, 3, 0, 1],  // SACK-permitted with length 3
        [8, 8, 0, 0, 0, 1, 0, 0],  // timestamps with length 8
        [5, 2, 1, 1],  // SACK with no block
        [5, 6, 0, 0, 0, 1],  // SACK with half a block
    ])
    func ignoresKnownOptionsWithWrongLengths(bytes: [UInt8]) throws {
        // Linux (tcp_parse_options) skips these rather than failing the segment.
        #expect(try Self.parse(bytes).get() == TCPOptions())
    }

    @Test(arguments: [
        [UInt8]([2]),  // length byte missing
        [1, 1, 1, 8],  // length byte missing after NOPs
        [2, 0, 5, 0xB4],  // length 0
        [0x22, 1, 1, 1],  // length 1
        [2, 4, 5],  // runs past the end
        [8, 10, 0, 0, 0, 1, 0, 0],  // timestamps cut short
        [1, 5, 10, 0, 0, 0, 1, 0, 0, 2],  // SACK block cut short
        [0xFE, 255, 0, 0],  // unknown option running far past the end
    ])
    func rejectsMalformedOptions(bytes: [UInt8]) {
        #expect(Self.parse(bytes) == .failure(.tcpBadOptions))
    }

    @Test func laterOptionsOverrideEarlierOnes() throws {
        let o = try Self.parse(WireTest.bytes("020405b4 02040218")).get()
        #expect(o.mss == 536)
    }

    @Test func roundTripsRandomOptions() throws {
        var rng = SeededRandom(seed: 7323)
        for _ in 0..<500 {
            var o = TCPOptions()
            if rng.chance(0.5) { o.mss = UInt16.random(in: 0...0xFFFF, using: &rng) }
            if rng.chance(0.5) { o.windowScale = UInt8.random(in: 0...14, using: &rng) }
            o.sackPermitted = rng.chance(0.5)
            if rng.chance(0.5) {
                o.timestamps = .init(
                    value: UInt32(truncatingIfNeeded: rng.next()),
                    echoReply: UInt32(truncatingIfNeeded: rng.next())
                )
            }
            for _ in 0..<Int(rng.next(below: 5)) {
                o.sackBlocks.append(
                    left: UInt32(truncatingIfNeeded: rng.next()),
                    right: UInt32(truncatingIfNeeded: rng.next())
                )
            }
            let bytes = Self.encode(o)
            #expect(bytes.count % 4 == 0 && bytes.count <= TCPOptions.maximumLength)
            var want = o
            want.sackBlocks = Self.blocks(o.sackBlocks.prefix(o.encodedSACKBlockCount).map { ($0.left, $0.right) })
            #expect(try Self.parse(bytes).get() == want)
        }
    }

    @Test func randomBytesNeverTrap() {
        var rng = SeededRandom(seed: 4)
        let kinds: [UInt8] = [0, 1, 2, 3, 4, 5, 8, 0x22]
        for _ in 0..<5000 {
            var bytes = WireTest.randomBytes(Int(rng.next(below: 41)), using: &rng)
            // Bias towards known kinds and small lengths so the walk goes deep.
            for i in bytes.indices where rng.chance(0.5) {
                bytes[i] = rng.chance(0.5) ? kinds[Int(rng.next(below: 8))] : UInt8(rng.next(below: 12))
            }
            _ = Self.parse(bytes)
        }
    }
}
