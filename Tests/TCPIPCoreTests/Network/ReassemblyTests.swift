import Testing

@testable import TCPIPCore

/// IPv4 fragmentation and reassembly (RFC 791 §3.2, RFC 1122 §3.3.2), driven with hand-built
/// fragments fed into stack A, and across two stacks at MTU 1500.
@Suite struct ReassemblyTests {
    static let second: Int64 = 1_000_000_000
    static let data = Build.pattern(3000, seed: 3)
    /// A 3008-byte UDP datagram from P:4000 to A:9000.
    static let datagram = Build.udp(from: Hosts.peerIP, 4000, to: Hosts.aIP, 9000, data)

    /// The datagram's fragments: 1480 + 1480 + 48 payload bytes.
    static func fragments(id: UInt16 = 0x0A0A, of payload: [UInt8] = datagram, chunk: Int = 1480) -> [[UInt8]] {
        Build.fragments(from: Hosts.peerIP, to: Hosts.aIP, protocol: IPProtocol.udp, id: id, chunk: chunk, payload)
    }

    /// A with a socket on port 9000 that knows P's MAC.
    static func harness(tune: (inout StackConfiguration) -> Void = { _ in }) -> (Harness, Int32) {
        var c = Hosts.configuration()
        tune(&c)
        var h = Harness(c)
        h.learnPeer()
        let fd = h.call { s, _ in s.socket(.dgram) }.value!
        _ = h.call { s, _ in s.bind(fd, port: 9000) }
        return (h, fd)
    }

    static func feed(_ h: inout Harness, _ packets: [[UInt8]]) {
        for p in packets { h.receive(Build.fromPeer(p)) }
    }

    /// Every datagram queued on `fd`.
    static func drain(_ h: inout Harness, _ fd: Int32) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for _ in 0..<100 {
            guard let d = h.call({ s, _ in s.receiveFrom(fd, max: 65536) }).value else { break }
            out.append(d.bytes)
        }
        return out
    }

    @Test func fragmentsInOrderAreReassembled() {
        var (h, fd) = Self.harness()
        let frags = Self.fragments()
        #expect(frags.count == 3)
        Self.feed(&h, frags)
        #expect(Self.drain(&h, fd) == [Self.data])
        #expect(h.stack.counters[.ipFragmentsIn] == 3 && h.stack.counters[.ipDatagramsReassembled] == 1)
        #expect(h.stack.counters[.udpDelivered] == 1)
        #expect(h.stack.nextDeadline() == Instant(nanoseconds: 120 * Self.second), "only the ARP entry's timer is left")
        #expect(h.stack.ipv4.reassembly.datagrams.isEmpty && h.stack.ipv4.reassembly.bytes == 0)
    }

    @Test func fragmentsInReverseAreReassembled() {
        var (h, fd) = Self.harness()
        Self.feed(&h, Self.fragments().reversed())
        #expect(Self.drain(&h, fd) == [Self.data])
    }

    @Test func smallFragmentsInAScrambledOrder() {
        var (h, fd) = Self.harness()
        let frags = Self.fragments(chunk: 104)  // 29 fragments
        var order = Array(frags.indices)
        var rng = SeededRandom(seed: 11)
        order.shuffle(using: &rng)
        Self.feed(&h, order.map { frags[$0] })
        #expect(Self.drain(&h, fd) == [Self.data])
        #expect(h.stack.counters[.ipFragmentsIn] == UInt64(frags.count))
    }

    @Test func duplicatedFragmentsAreDeliveredExactlyOnce() {
        var (h, fd) = Self.harness()
        let f = Self.fragments()
        Self.feed(&h, [f[1], f[0], f[1], f[0], f[2]])
        #expect(Self.drain(&h, fd) == [Self.data])
        #expect(h.stack.counters[.ipFragmentDuplicate] == 2)
        #expect(h.stack.counters[.udpDelivered] == 1)
    }

    @Test func overlappingFragmentsDropTheWholeDatagram() {
        var (h, fd) = Self.harness()
        let f = Self.fragments()
        // Bytes 1472..<1488 overlap both the first fragment and the second.
        let overlap = Build.ipv4(
            from: Hosts.peerIP,
            to: Hosts.aIP,
            protocol: IPProtocol.udp,
            id: 0x0A0A,
            moreFragments: true,
            offset: 1472,
            Array(Self.datagram[1472..<1488])
        )
        Self.feed(&h, [f[0], overlap])
        #expect(h.stack.counters[.ipFragmentOverlap] == 1)
        Self.feed(&h, [f[1], f[2]])
        #expect(Self.drain(&h, fd).isEmpty, "the first fragment went with the discarded datagram")
        // What is left never completes, and without its first fragment earns no Time Exceeded.
        h.advance(to: Instant(nanoseconds: 31 * Self.second))
        #expect(h.stack.counters[.ipReassemblyTimeout] == 1)
        #expect(h.takeSent().isEmpty)
        #expect(h.stack.ipv4.reassembly.datagrams.isEmpty && h.stack.ipv4.reassembly.bytes == 0, "nothing leaks")
    }

    /// Found by the Reassembly fuzz target (Fuzz/Corpus/Reassembly/copy-claims-last): a copy
    /// of a held fragment with MF cleared is not an exact duplicate (RFC 8200 §4.5) but a
    /// conflict, which discards the datagram (RFC 5722). Ignored as a duplicate, its end stayed
    /// behind: a datagram complete in every byte was held until it timed out.
    @Test func aCopyThatClaimsToBeLastIsAnOverlap() {
        var (h, fd) = Self.harness()
        let frags = Self.fragments()
        var copy = frags[1]
        copy.withUnsafeMutableBytes { b in
            b.setBE16(6, b.be16(6) & ~0x2000)
            b.setBE16(10, 0)
            b.setBE16(10, InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: b[0..<20])))
        }
        Self.feed(&h, [frags[0], frags[1], copy])
        #expect(h.stack.counters[.ipFragmentOverlap] == 1 && h.stack.counters[.ipFragmentDuplicate] == 0)
        #expect(h.stack.ipv4.reassembly.datagrams.isEmpty && h.stack.ipv4.reassembly.bytes == 0)
        #expect(Self.drain(&h, fd).isEmpty)
    }

    @Test func twoLastFragmentsThatDisagreeAreAnOverlap() {
        var (h, fd) = Self.harness()
        let f = Self.fragments()
        let shorterLast = Build.ipv4(
            from: Hosts.peerIP,
            to: Hosts.aIP,
            protocol: IPProtocol.udp,
            id: 0x0A0A,
            offset: 2960,
            Array(Self.datagram[2960..<3000])
        )
        Self.feed(&h, [f[2], shorterLast, f[0], f[1]])
        #expect(h.stack.counters[.ipFragmentOverlap] == 1)
        #expect(Self.drain(&h, fd).isEmpty)
    }

    @Test func aMissingFragmentEarnsTimeExceededAfterThirtySeconds() throws {
        var (h, fd) = Self.harness()
        let f = Self.fragments()
        Self.feed(&h, [f[0], f[2]])
        #expect(h.stack.nextDeadline() == Instant(nanoseconds: 30 * Self.second))
        h.advance(to: Instant(nanoseconds: 30 * Self.second - 1))
        #expect(h.takeSent().isEmpty)
        h.advance(to: Instant(nanoseconds: 30 * Self.second))
        let out = h.takeSent().compactMap(Decoded.init)
        try #require(out.count == 1)
        let e = out[0]
        #expect(e.ip?.destination == Hosts.peerIP && e.ethernet.destination == Hosts.peerMAC)
        #expect(e.icmp?.type == ICMPv4Type.timeExceeded && e.icmp?.code == ICMPv4TimeExceededCode.reassembly)
        #expect(e.payload == Array(f[0][0..<28]), "the first fragment's header and its first 8 data bytes")
        #expect(h.stack.counters[.ipReassemblyTimeout] == 1 && h.stack.counters[.icmpTimeExceededOut] == 1)
        // The late fragment starts over and cannot complete the old datagram.
        Self.feed(&h, [f[1]])
        #expect(Self.drain(&h, fd).isEmpty)
    }

    @Test func noTimeExceededWhenTheFirstFragmentNeverCame() {
        var (h, _) = Self.harness()
        let f = Self.fragments()
        Self.feed(&h, [f[1], f[2]])
        h.advance(to: Instant(nanoseconds: 31 * Self.second))
        #expect(h.takeSent().isEmpty, "RFC 1122 §3.3.2: only if fragment zero has been received")
        #expect(h.stack.counters[.ipReassemblyTimeout] == 1)
        #expect(h.stack.counters[.icmpTimeExceededOut] == 0)
    }

    @Test func noTimeExceededAboutABroadcastDatagram() {
        var (h, _) = Self.harness()
        // RFC 1122 §3.2.2: no ICMP error about a datagram sent to a broadcast address — even
        // when it is the reassembly timer that gives up on it.
        for (id, destination) in [(UInt16(1), Hosts.subnetBroadcast), (2, IPv4Address.broadcast)] {
            let payload = Build.udp(from: Hosts.peerIP, 4000, to: destination, 9000, Build.pattern(100))
            let first = Build.fragments(
                from: Hosts.peerIP,
                to: destination,
                protocol: IPProtocol.udp,
                id: id,
                chunk: 64,
                payload
            )[0]
            h.receive(Build.ethernet(to: .broadcast, from: Hosts.peerMAC, type: EtherType.ipv4, first))
        }
        h.advance(to: Instant(nanoseconds: 31 * Self.second))
        #expect(h.stack.counters[.ipReassemblyTimeout] == 2)
        #expect(h.takeSent().isEmpty)
        #expect(h.stack.counters[.icmpTimeExceededOut] == 0)
    }

    @Test func aFragmentReachingPast65535IsDropped() {
        var (h, _) = Self.harness()
        // Offset 65528 (the largest) plus 16 bytes: the ping of death.
        let last = Build.ipv4(
            from: Hosts.peerIP,
            to: Hosts.aIP,
            protocol: IPProtocol.icmp,
            id: 9,
            offset: 65528,
            Build.pattern(16)
        )
        Self.feed(&h, [last])
        #expect(h.stack.counters[.ipFragmentTooLarge] == 1)
        #expect(h.stack.nextDeadline() == Instant(nanoseconds: 120 * Self.second), "nothing held")
    }

    @Test func aFirstFragmentWithOptionsCannotMakeTheDatagramTooLarge() {
        var (h, _) = Self.harness()
        // Each fragment fits on its own, but the first one's 60-byte header plus 65512 bytes
        // of payload would make a 65572-byte datagram (RFC 791: the total length is 16 bits).
        let options = [UInt8](repeating: 1, count: 40)  // NOPs
        let first = Build.ipv4(
            from: Hosts.peerIP,
            to: Hosts.aIP,
            protocol: IPProtocol.udp,
            id: 5,
            moreFragments: true,
            options: options,
            Build.pattern(8)
        )
        let middle = Build.ipv4(
            from: Hosts.peerIP,
            to: Hosts.aIP,
            protocol: IPProtocol.udp,
            id: 5,
            moreFragments: true,
            offset: 8,
            Build.pattern(65496)
        )
        let last = Build.ipv4(
            from: Hosts.peerIP,
            to: Hosts.aIP,
            protocol: IPProtocol.udp,
            id: 5,
            offset: 65504,
            Build.pattern(8)
        )
        Self.feed(&h, [middle, last, first])
        #expect(h.stack.counters[.ipFragmentTooLarge] == 1)
        #expect(h.stack.counters[.ipDatagramsReassembled] == 0)
        Self.feed(&h, [first, middle, last])
        #expect(h.stack.counters[.ipFragmentTooLarge] == 2)
    }

    @Test func badFragmentLengthsAreDropped() {
        var (h, _) = Self.harness()
        // MF set but 12 bytes: not a multiple of 8 (RFC 791 §3.1).
        Self.feed(
            &h,
            [
                Build.ipv4(
                    from: Hosts.peerIP,
                    to: Hosts.aIP,
                    protocol: IPProtocol.udp,
                    id: 3,
                    moreFragments: true,
                    Build.pattern(12)
                )
            ]
        )
        #expect(h.stack.counters[.ipFragmentBadLength] == 1)
    }

    @Test func theNumberOfIncompleteDatagramsIsBoundedByEvictingTheOldest() {
        var (h, fd) = Self.harness { $0.reassemblyMaxDatagrams = 2 }
        let a = Self.fragments(id: 1)
        let b = Self.fragments(id: 2)
        let c = Self.fragments(id: 3)
        Self.feed(&h, [a[0], b[0], c[0]])
        // The newest is taken; the oldest (a) made room.
        #expect(h.stack.counters[.ipReassemblyEvictions] == 1)
        #expect(h.stack.counters[.ipReassemblyMemoryFull] == 0)
        Self.feed(&h, [b[1], b[2], c[1], c[2]])
        #expect(Self.drain(&h, fd) == [Self.data, Self.data])
        #expect(h.stack.ipv4.reassembly.datagrams.isEmpty && h.stack.ipv4.reassembly.bytes == 0)
    }

    /// Issue: after 1000 incomplete fragmented datagrams (the first 16 bytes of each, distinct
    /// identifications), a complete fragmented datagram is still delivered, and a later
    /// incomplete one still draws Time Exceeded (code 1) when its 30 s run out (RFC 1122
    /// §3.3.2): a flood of junk costs old junk only.
    @Test func aFloodOfIncompleteDatagramsNeverShutsOutTheNextOne() throws {
        var (h, fd) = Self.harness()
        for id in 0..<1000 {
            let junk = Build.udp(from: Hosts.peerIP, 5000, to: Hosts.aIP, 9000, Build.pattern(100))
            Self.feed(&h, [Self.fragments(id: UInt16(id), of: junk, chunk: 16)[0]])
        }
        #expect(h.stack.counters[.ipReassemblyEvictions] >= 1000 - 64)
        #expect(h.stack.ipv4.reassembly.datagrams.count <= 64)
        Self.feed(&h, Self.fragments(id: 0x7777))
        #expect(Self.drain(&h, fd) == [Self.data])
        // One second later, an incomplete datagram with its first fragment.
        h.advance(to: Instant(nanoseconds: Self.second))
        _ = h.takeSent()
        let late = Self.fragments(id: 0x7778)
        Self.feed(&h, [late[0]])
        h.advance(to: Instant(nanoseconds: 31 * Self.second))
        let quotes = h.takeSent().compactMap(Decoded.init).filter {
            $0.icmp?.type == ICMPv4Type.timeExceeded && $0.icmp?.code == ICMPv4TimeExceededCode.reassembly
        }.map(\.payload)
        #expect(quotes.contains(Array(late[0][0..<28])), "the late datagram's Time Exceeded")
    }

    @Test func theBytesHeldAreBounded() {
        var (h, fd) = Self.harness { $0.reassemblyMaxBytes = 2048 }
        Self.feed(&h, Self.fragments())
        #expect(h.stack.counters[.ipReassemblyMemoryFull] >= 1)
        #expect(Self.drain(&h, fd).isEmpty)
        // A datagram that fits still goes through.
        let small = Build.udp(from: Hosts.peerIP, 4000, to: Hosts.aIP, 9000, Build.pattern(1000))
        Self.feed(&h, Self.fragments(id: 7, of: small, chunk: 504))
        #expect(Self.drain(&h, fd) == [Build.pattern(1000)])
        // The leftovers of the first datagram time out, and every byte is accounted for.
        h.advance(to: Instant(nanoseconds: 31 * Self.second))
        #expect(h.stack.ipv4.reassembly.datagrams.isEmpty && h.stack.ipv4.reassembly.bytes == 0)
    }

    /// Found by the Reassembly fuzz target (Fuzz/Corpus/Reassembly/capacity-past-bound): the
    /// array that takes a datagram's bytes grows by doubling, so it may hold more than was asked
    /// for, and the bound counts what is held (RFC 1122 §3.3.2 leaves the limit to the host; it
    /// must hold).
    @Test func theBoundCountsTheMemoryHeldNotTheBytesAskedFor() {
        var (h, _) = Self.harness { $0.reassemblyMaxBytes = 11_000 }
        // 5 × 1480 bytes asked for, 7400 in all; the fifth doubles the array past 11000.
        let first = Self.fragments(of: Build.pattern(7400 + 8), chunk: 1480).prefix(5)
        Self.feed(&h, Array(first))
        let reassembly = h.stack.ipv4.reassembly
        #expect(reassembly.bytes <= 11_000, "\(reassembly.bytes) bytes held")
        #expect(reassembly.bytes == reassembly.datagrams.values.reduce(0) { $0 + $1.data.capacity })
    }

    @Test func theFragmentsPerDatagramAreBounded() {
        var (h, fd) = Self.harness { $0.reassemblyMaxFragments = 4 }
        Self.feed(&h, Self.fragments(chunk: 504))  // 6 fragments
        #expect(h.stack.counters[.ipReassemblyMemoryFull] == 1)
        #expect(Self.drain(&h, fd).isEmpty)
    }

    // MARK: - Across two stacks at MTU 1500

    @Test func a4000BytePingIsFragmentedBothWays() throws {
        var net = Hosts.pair(mtu: 1500)
        let log = WireLog()
        log.attach(to: &net)
        let payload = Build.pattern(4000, seed: 1)
        _ = net.perform(on: 0) { s, fx in
            payload.withUnsafeBytes {
                s.sendEchoRequest(to: Hosts.bIP, identifier: 1, sequence: 1, payload: $0, into: &fx)
            }
        }
        net.settle()
        #expect(
            net.events(of: 0) == [
                .echoReply(
                    EchoReply(
                        source: Hosts.bIP,
                        identifier: 1,
                        sequence: 1,
                        ttl: 64,
                        payloadLength: 4000,
                        payloadMatches: true
                    )
                )
            ]
        )
        for from in 0...1 {
            let frags = log.decoded(from: from).compactMap(\.ip)
            // 4008 bytes of ICMP: 1480 + 1480 + 1048.
            #expect(frags.map(\.fragmentOffset) == [0, 1480, 2960])
            #expect(frags.map(\.moreFragments) == [true, true, false])
            #expect(frags.map(\.totalLength) == [1500, 1500, 1068])
            #expect(Set(frags.map(\.identification)).count == 1)
            #expect(net.stacks[from].counters[.ipDatagramsFragmented] == 1)
            #expect(net.stacks[from].counters[.ipDatagramsReassembled] == 1)
            #expect(net.stacks[from].counters[.ipFragmentsOut] == 3)
        }
        #expect(log.entries.allSatisfy { $0.bytes.count <= 1514 })
    }

    @Test func a3000ByteUDPDatagramIsFragmentedBothWays() throws {
        var net = Hosts.pair(mtu: 1500)
        let log = WireLog()
        log.attach(to: &net)
        let server = net.udpSocket(on: 1, bind: 7)
        let client = net.udpSocket(on: 0, bind: 5000)
        let data = Build.pattern(3000, seed: 5)
        #expect(net.sendTo(on: 0, client, data, to: Hosts.bIP, port: 7).value == 3000)
        net.settle()
        let got = try #require(net.receive(on: 1, server).value)
        #expect(got.bytes == data && got.address == Hosts.aIP && got.port == 5000)
        #expect(net.sendTo(on: 1, server, got.bytes, to: got.address, port: got.port).value == 3000)
        net.settle()
        #expect(net.receive(on: 0, client).value?.bytes == data)
        for from in 0...1 {
            let frags = log.decoded(from: from).compactMap(\.ip).filter(\.isFragment)
            #expect(frags.map(\.fragmentOffset) == [0, 1480, 2960])
            #expect(frags.map(\.totalLength) == [1500, 1500, 68])
        }
    }

    @Test func anOversizedPingIsEMSGSIZEAndASmallMTUFragments() {
        var h = Harness(Hosts.configuration(mtu: 576))
        h.learnPeer()
        let payload = Build.pattern(1000)
        // No IP datagram exceeds 65535 bytes: a ping with more than 65507 data bytes is EMSGSIZE.
        let big = [UInt8](repeating: 0, count: 65508)
        let r = h.call { s, fx in
            big.withUnsafeBytes {
                s.sendEchoRequest(to: Hosts.peerIP, identifier: 1, sequence: 1, payload: $0, into: &fx)
            }
        }
        #expect(r.error == .EMSGSIZE)
        _ = h.call { s, fx in
            payload.withUnsafeBytes {
                s.sendEchoRequest(to: Hosts.peerIP, identifier: 1, sequence: 2, payload: $0, into: &fx)
            }
        }
        // 1008 bytes of ICMP at MTU 576: 552 + 456.
        #expect(h.takeSent().compactMap(Decoded.init).compactMap(\.ip).map(\.totalLength) == [572, 476])
    }
}
