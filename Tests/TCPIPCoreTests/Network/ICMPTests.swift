import Testing

@testable import TCPIPCore

/// ICMP (RFC 792) and the rules of RFC 1122 §3.2.2 for when an error may be sent.
@Suite struct ICMPTests {
    static let second: Int64 = 1_000_000_000

    @Test func pingBetweenTwoStacks() throws {
        var net = Hosts.pair()
        let log = WireLog()
        log.attach(to: &net)
        let payload = Build.pattern(56, seed: 0x10)
        let sent = net.perform(on: 0) { s, fx in
            payload.withUnsafeBytes {
                s.sendEchoRequest(to: Hosts.bIP, identifier: 0x4242, sequence: 1, payload: $0, into: &fx)
            }
        }
        #expect(sent.value != nil)
        net.settle()
        #expect(
            net.events(of: 0) == [
                .echoReply(
                    EchoReply(
                        source: Hosts.bIP,
                        identifier: 0x4242,
                        sequence: 1,
                        ttl: 64,
                        payloadLength: 56,
                        payloadMatches: true
                    )
                )
            ]
        )
        let icmp = log.decoded().filter { $0.icmp != nil }
        try #require(icmp.count == 2)
        let (request, reply) = (icmp[0], icmp[1])
        #expect(request.icmp?.type == ICMPv4Type.echoRequest && reply.icmp?.type == ICMPv4Type.echoReply)
        #expect(reply.icmp?.code == 0)
        #expect(reply.icmp?.identifier == 0x4242 && reply.icmp?.sequenceNumber == 1)
        #expect(request.payload == payload && reply.payload == payload, "RFC 792: the data is returned unchanged")
        #expect(reply.ip?.source == Hosts.bIP && reply.ip?.destination == Hosts.aIP)
        #expect(net.stacks[1].counters[.icmpEchoRequestsIn] == 1 && net.stacks[1].counters[.icmpEchoRepliesOut] == 1)
        #expect(net.stacks[0].counters[.icmpEchoRepliesIn] == 1)
    }

    @Test func anEchoRequestIsAnsweredWithTheSameIdentifierSequenceAndData() throws {
        var h = Harness()
        h.learnPeer()
        let data = Build.pattern(100)
        h.receive(
            Build.fromPeer(
                Build.ipv4(
                    from: Hosts.peerIP,
                    to: Hosts.aIP,
                    protocol: IPProtocol.icmp,
                    ttl: 9,
                    Build.echo(id: 0xBEEF, seq: 0x0102, data)
                )
            )
        )
        let out = h.takeSent().compactMap(Decoded.init)
        try #require(out.count == 1)
        let r = out[0]
        #expect(r.ethernet.destination == Hosts.peerMAC)
        #expect(r.ip?.source == Hosts.aIP && r.ip?.destination == Hosts.peerIP && r.ip?.ttl == 64)
        #expect(
            r.icmp?.type == ICMPv4Type.echoReply && r.icmp?.identifier == 0xBEEF && r.icmp?.sequenceNumber == 0x0102
        )
        #expect(r.payload == data)
    }

    @Test func anEchoReplyNobodyAskedForIsDropped() {
        var h = Harness()
        h.receive(
            Build.fromPeer(
                Build.ipv4(
                    from: Hosts.peerIP,
                    to: Hosts.aIP,
                    protocol: IPProtocol.icmp,
                    Build.echo(type: ICMPv4Type.echoReply, id: 1, seq: 1, [1])
                )
            )
        )
        #expect(h.events.isEmpty)
        #expect(h.stack.counters[.icmpEchoReplyUnmatched] == 1)
    }

    @Test func aBroadcastEchoRequestIsNotAnswered() {
        var h = Harness()
        h.learnPeer()
        h.receive(
            Build.ethernet(
                to: .broadcast,
                from: Hosts.peerMAC,
                type: EtherType.ipv4,
                Build.ipv4(
                    from: Hosts.peerIP,
                    to: Hosts.subnetBroadcast,
                    protocol: IPProtocol.icmp,
                    Build.echo(id: 1, seq: 1, [1])
                )
            )
        )
        #expect(h.takeSent().isEmpty, "RFC 1122 §3.2.2.6: MAY be discarded; Linux does")
    }

    @Test func aBadChecksumIsDroppedAndCounted() {
        var h = Harness()
        h.learnPeer()
        var message = Build.echo(id: 1, seq: 1, [1, 2, 3, 4])
        message[2] ^= 0xFF
        h.receive(Build.fromPeer(Build.ipv4(from: Hosts.peerIP, to: Hosts.aIP, protocol: IPProtocol.icmp, message)))
        #expect(h.takeSent().isEmpty)
        #expect(h.stack.counters[.icmpBadChecksum] == 1)
    }

    // MARK: - Errors we send

    /// A UDP datagram from the peer to a closed port of A.
    static func toClosedPort(
        from source: IPv4Address = Hosts.peerIP,
        to destination: IPv4Address = Hosts.aIP,
        id: UInt16 = 0x1234
    )
        -> [UInt8]
    {
        Build.ipv4(
            from: source,
            to: destination,
            protocol: IPProtocol.udp,
            id: id,
            Build.udp(from: source, 4000, to: destination, 9, Build.pattern(20))
        )
    }

    @Test func portUnreachableQuotesTheHeaderAndEightBytes() throws {
        var h = Harness()
        h.learnPeer()
        let packet = Self.toClosedPort()
        h.receive(Build.fromPeer(packet))
        let out = h.takeSent().compactMap(Decoded.init)
        try #require(out.count == 1)
        let e = out[0]
        #expect(e.ip?.destination == Hosts.peerIP && e.ip?.source == Hosts.aIP)
        #expect(e.icmp?.type == ICMPv4Type.destinationUnreachable && e.icmp?.code == ICMPv4UnreachableCode.port)
        #expect(e.icmp?.restOfHeader == 0)
        #expect(e.payload == Array(packet[0..<28]), "RFC 792: internet header + 64 bits of data")
        #expect(h.stack.counters[.udpNoPort] == 1 && h.stack.counters[.icmpDestUnreachableOut] == 1)
    }

    @Test func anUnknownProtocolGetsProtocolUnreachable() throws {
        var h = Harness()
        h.learnPeer()
        let packet = Build.ipv4(from: Hosts.peerIP, to: Hosts.aIP, protocol: 253, Build.pattern(12))
        h.receive(Build.fromPeer(packet))
        let out = h.takeSent().compactMap(Decoded.init)
        try #require(out.count == 1)
        #expect(out[0].icmp?.type == ICMPv4Type.destinationUnreachable)
        #expect(out[0].icmp?.code == ICMPv4UnreachableCode.protocol)
        #expect(out[0].payload == Array(packet[0..<28]))
        #expect(h.stack.counters[.ipUnknownProtocol] == 1)
    }

    @Test func noErrorAboutADatagramSentToABroadcastAddress() {
        var h = Harness()
        h.learnPeer()
        h.receive(
            Build.ethernet(
                to: .broadcast,
                from: Hosts.peerMAC,
                type: EtherType.ipv4,
                Self.toClosedPort(to: Hosts.subnetBroadcast)
            )
        )
        h.receive(
            Build.ethernet(
                to: .broadcast,
                from: Hosts.peerMAC,
                type: EtherType.ipv4,
                Self.toClosedPort(to: .broadcast)
            )
        )
        #expect(h.takeSent().isEmpty)
        #expect(h.stack.counters[.udpBroadcastNoPort] == 2)
        #expect(h.stack.counters[.icmpDestUnreachableOut] == 0)
    }

    @Test func noErrorAboutALinkLayerBroadcast() {
        var h = Harness()
        h.learnPeer()
        // Unicast IP destination, but sent to ff:ff:ff:ff:ff:ff (RFC 1122 §3.2.2).
        h.receive(Build.ethernet(to: .broadcast, from: Hosts.peerMAC, type: EtherType.ipv4, Self.toClosedPort()))
        #expect(h.takeSent().isEmpty)
        #expect(h.stack.counters[.icmpDestUnreachableOut] == 0)
    }

    @Test func noErrorToASourceThatIsNotOneHost() {
        var h = Harness()
        h.learnPeer()
        h.receive(Build.fromPeer(Self.toClosedPort(from: .any)))
        h.receive(Build.fromPeer(Self.toClosedPort(from: IPv4Address(127, 0, 0, 1))))
        #expect(h.takeSent().isEmpty)
        // RFC 1122 §3.2.1.3: such sources are dropped at IP already, before UDP could answer.
        #expect(h.stack.counters[.ipBadSource] == 2 && h.stack.counters[.icmpDestUnreachableOut] == 0)
    }

    @Test func noErrorAboutAnICMPError() {
        var h = Harness()
        h.learnPeer()
        // A Destination Unreachable carried with an unknown protocol would earn a Protocol
        // Unreachable; an ICMP error whose reassembly times out earns nothing. Here: an ICMP
        // error's first fragment that never completes.
        let error = Build.icmp(
            ICMPv4Header(type: ICMPv4Type.destinationUnreachable, code: 1),
            Build.pattern(40)
        )
        let first = Build.ipv4(
            from: Hosts.peerIP,
            to: Hosts.aIP,
            protocol: IPProtocol.icmp,
            id: 77,
            moreFragments: true,
            Array(error[0..<24])
        )
        h.receive(Build.fromPeer(first))
        h.advance(to: Instant(nanoseconds: 31 * Self.second))
        #expect(h.takeSent().isEmpty, "RFC 1122 §3.2.2: never an error about an ICMP error")
        #expect(h.stack.counters[.ipReassemblyTimeout] == 1)
        #expect(h.stack.counters[.icmpTimeExceededOut] == 0)

        // The same for an echo request's first fragment does earn Time Exceeded.
        let echo = Build.echo(id: 1, seq: 1, Build.pattern(40))
        h.receive(
            Build.fromPeer(
                Build.ipv4(
                    from: Hosts.peerIP,
                    to: Hosts.aIP,
                    protocol: IPProtocol.icmp,
                    id: 78,
                    moreFragments: true,
                    Array(echo[0..<24])
                )
            )
        )
        h.advance(to: Instant(nanoseconds: 62 * Self.second))
        #expect(h.stack.counters[.icmpTimeExceededOut] == 1)
    }

    @Test func errorsAreRateLimited() {
        var c = Hosts.configuration()
        c.icmpErrorsPerSecond = 2
        c.icmpErrorBurst = 3
        var h = Harness(c)
        h.learnPeer()
        h.advance(to: Instant(nanoseconds: 10_000_000))
        for i in 0..<6 { h.receive(Build.fromPeer(Self.toClosedPort(id: UInt16(i)))) }
        #expect(h.takeSent().count == 3, "the burst")
        #expect(h.stack.counters[.icmpRateLimited] == 3)
        h.advance(to: Instant(nanoseconds: 10_000_000 + Self.second / 2))
        for i in 0..<3 { h.receive(Build.fromPeer(Self.toClosedPort(id: UInt16(10 + i)))) }
        #expect(h.takeSent().count == 1, "one token per half second")
        #expect(h.stack.counters[.icmpRateLimited] == 5)
        #expect(h.stack.counters[.udpNoPort] == 9)
    }

    // MARK: - Errors we receive

    @Test func anErrorAboutOurPingFailsIt() {
        var h = Harness()
        h.learnPeer()
        let data: [UInt8] = [1, 2, 3, 4]
        _ = h.call { s, fx in
            data.withUnsafeBytes {
                s.sendEchoRequest(to: Hosts.peerIP, identifier: 5, sequence: 6, payload: $0, into: &fx)
            }
        }
        let sent = h.takeSent()
        let quotedIP = Array(Decoded(sent[0])!.ipPacket[0..<28])
        h.receive(
            Build.fromPeer(
                Build.ipv4(
                    from: Hosts.peerIP,
                    to: Hosts.aIP,
                    protocol: IPProtocol.icmp,
                    Build.icmp(ICMPv4Header(type: ICMPv4Type.destinationUnreachable, code: 1), quotedIP)
                )
            )
        )
        #expect(h.events == [.echoFailed(identifier: 5, sequence: 6, error: .EHOSTUNREACH)])
        #expect(h.stack.counters[.icmpDestUnreachableIn] == 1)
    }

    @Test func anErrorQuotingTooLittleIsDropped() {
        var h = Harness()
        h.receive(
            Build.fromPeer(
                Build.ipv4(
                    from: Hosts.peerIP,
                    to: Hosts.aIP,
                    protocol: IPProtocol.icmp,
                    Build.icmp(ICMPv4Header(type: ICMPv4Type.destinationUnreachable, code: 3), Build.pattern(20))
                )
            )
        )
        #expect(h.stack.counters[.icmpErrorQuoteTooShort] == 1)
        #expect(h.events.isEmpty)
    }
}
