@testable import TCPIPCore

/// Fuzz target `Reassembly`: IPv4 fragments (RFC 791 §3.2, RFC 1122 §3.3.2) fed to the
/// `Reassembly` type, with small bounds so that eviction, the memory limit and the timeout are
/// all reached.
///
/// The input is a sequence of fragments, 6 bytes each: flags (bit 0 MF, bits 1–2 which of four
/// datagrams, bits 3–5 options words in the first header, bits 6–7 how far time moves first),
/// the 13-bit offset in 8-byte units, the payload length, and a fill byte. After each step the
/// bookkeeping must hold, and every datagram handed back must be exactly the fragments of that
/// datagram since it was begun, under one valid header.
@_cdecl("LLVMFuzzerTestOneInput")
public func reassemblyFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data: data, size: size)
    var run = ReassemblyRun()
    while !input.isAtEnd {
        let flags = input.byte()
        let offset = Int(input.be16() & 0x1FFF) * 8
        let length = Int(input.be16()) % 3000
        let fill = input.byte()
        run.advance(by: [0, 100_000_000, 1_000_000_000, 40_000_000_000][Int(flags >> 6)])
        run.feed(
            moreFragments: flags & 1 != 0,
            datagram: Int(flags >> 1) & 3,
            optionWords: Int(flags >> 3) & 7,
            offset: offset,
            length: length,
            fill: fill
        )
        run.check()
    }
    return 0
}

/// One reassembly table, a clock, and a model of what each datagram held should contain.
private struct ReassemblyRun {
    var reassembly: Reassembly
    var ctx = LayerContext(interfaces: [])
    /// For each datagram being put together: its payload bytes by offset, as the model sees them.
    var model: [Reassembly.Key: [Int: [UInt8]]] = [:]

    init() {
        var c = StackConfiguration(interfaces: [])
        c.reassemblyTimeout = 30_000_000_000
        c.reassemblyMaxBytes = 12_000
        c.reassemblyMaxDatagrams = 3
        c.reassemblyMaxFragments = 8
        reassembly = Reassembly(configuration: c)
    }

    mutating func advance(by ns: Int64) {
        guard ns > 0 else { return }
        ctx.now = ctx.now.adding(nanoseconds: ns)
        while let (key, _) = reassembly.popExpired(now: ctx.now) { model[key] = nil }
    }

    mutating func feed(moreFragments: Bool, datagram: Int, optionWords: Int, offset: Int, length: Int, fill: UInt8) {
        let headerLength = 20 + (offset == 0 ? 4 * optionWords : 0)
        var packet = [UInt8](repeating: 1, count: headerLength + length)  // options: NOPs
        for i in 0..<length { packet[headerLength + i] = fill &+ UInt8(truncatingIfNeeded: (offset + i) / 8) }
        let source = IPv4Address(10, 0, 0, UInt8(1 + datagram / 2))
        var header = IPv4Header(
            totalLength: packet.count,
            identification: UInt16(0x4200 + datagram % 2),
            moreFragments: moreFragments,
            fragmentOffset: offset,
            ttl: 64,
            protocol: IPProtocol.udp,
            source: source,
            destination: IPv4Address(10, 0, 0, 9)
        )
        header.headerLength = headerLength
        packet.withUnsafeMutableBytes { buf in
            header.write(to: buf, at: 0)
            buf[0] = 0x40 | UInt8(headerLength / 4)
            PacketRepair.setIPv4HeaderChecksum(buf)
        }
        let key = Reassembly.Key(
            source: source,
            destination: header.destination,
            proto: header.protocol,
            identification: header.identification
        )
        let before = reassembly.datagrams[key]?.ranges.count ?? 0
        let whole = packet.withUnsafeBytes { reassembly.input(header, packet: $0, ctx: &ctx) }
        if let whole {
            var pieces = model.removeValue(forKey: key) ?? [:]
            pieces[offset] = Array(packet[headerLength...])
            checkWhole(whole, pieces: pieces)
        } else if let d = reassembly.datagrams[key] {
            if d.ranges.count > before { model[key, default: [:]][offset] = Array(packet[headerLength...]) }
        } else {
            model[key] = nil
        }
        // Evictions take other datagrams.
        for k in model.keys where reassembly.datagrams[k] == nil { model[k] = nil }
    }

    func checkWhole(_ whole: [UInt8], pieces: [Int: [UInt8]]) {
        whole.withUnsafeBytes { buf in
            guard case .success(let h) = IPv4Header.parse(buf) else {
                return require(false, "reassembled header rejected")
            }
            require(!h.isFragment && h.totalLength == buf.count, "reassembled header \(h)")
            var expected: [UInt8] = []
            for offset in pieces.keys.sorted() {
                require(offset == expected.count, "a gap at \(expected.count) in a whole datagram")
                expected += pieces[offset]!
            }
            require(Array(buf[h.headerLength...]) == expected, "reassembled payload differs")
        }
    }

    /// The table's own bookkeeping.
    func check() { StackInvariants.checkReassembly(reassembly, now: ctx.now) }
}
