import Testing

@testable import TCPIPCore

/// ICMP errors about TCP segments (RFC 9293 §3.9.1.3 / RFC 1122 §4.2.3.9, RFC 5927, RFC 1191).
@Suite struct TCPICMPTests {
    /// An ICMP error from the peer's side quoting a segment we sent: its IP header and the first
    /// 8 bytes of its TCP header (ports and sequence number).
    static func icmpError(
        type: UInt8 = ICMPv4Type.destinationUnreachable,
        code: UInt8,
        mtu: UInt16 = 0,
        localPort: UInt16,
        peerPort: UInt16,
        seq: UInt32
    ) -> [UInt8] {
        var tcp = [UInt8](repeating: 0, count: 20)
        tcp.withUnsafeMutableBytes { b in
            b.setBE16(0, localPort)
            b.setBE16(2, peerPort)
            b.setBE32(4, seq)
        }
        let original = Build.ipv4(
            from: TCPScenario.localIP,
            to: TCPScenario.peerIP,
            protocol: IPProtocol.tcp,
            dontFragment: true,
            tcp
        )
        let quote = Array(original[0..<28])
        return Build.icmp(ICMPv4Header(type: type, code: code, restOfHeader: UInt32(mtu)), quote)
    }

    static func deliver(_ sc: inout TCPScenario, _ icmp: [UInt8]) {
        sc.receive(sc.ipFrame(protocol: IPProtocol.icmp, icmp))
    }

    @Test func portUnreachableDuringConnectRefuses() {
        var sc = TCPScenario()
        let fd = sc.connect()
        let syn = sc.expectOne(flags: [.syn])!
        Self.deliver(
            &sc,
            Self.icmpError(code: ICMPv4UnreachableCode.port, localPort: 50000, peerPort: 40000, seq: syn.seq)
        )
        sc.expectNone()
        #expect(sc.state(fd) == .closed)
        #expect(
            sc.stack.connect(fd, address: TCPScenario.peerIP, port: 40000, into: &sc.effects).error == .ECONNREFUSED
        )
        sc.advance(seconds: 10)
        sc.expectNone("no SYN retransmission")
    }

    /// RFC 9293 MUST-55, RFC 6633 §3: Source Quench is silently discarded, also while connecting.
    @Test func sourceQuenchIsDiscarded() {
        var sc = TCPScenario()
        let fd = sc.connect()
        let syn = sc.expectOne(flags: [.syn])!
        Self.deliver(
            &sc,
            Self.icmpError(type: ICMPv4Type.sourceQuench, code: 0, localPort: 50000, peerPort: 40000, seq: syn.seq)
        )
        sc.expectNone()
        #expect(sc.state(fd) == .synSent)
        #expect(sc.stack.counters[.icmpUnknownType] == 1)
    }

    @Test func hostUnreachableDuringConnectFails() {
        // Linux's tcp_v4_err aborts a connection in SYN-SENT on any unreachable, with its errno.
        var sc = TCPScenario()
        let fd = sc.connect()
        let syn = sc.expectOne(flags: [.syn])!
        Self.deliver(
            &sc,
            Self.icmpError(code: ICMPv4UnreachableCode.host, localPort: 50000, peerPort: 40000, seq: syn.seq)
        )
        #expect(sc.state(fd) == .closed)
        #expect(sc.stack.takeError(fd).value == .EHOSTUNREACH)
    }

    /// RFC 5927 §4.1: an ICMP error whose quoted sequence number is not in SND.UNA..SND.NXT−1
    /// does not match anything we sent and is ignored (as Linux, "OutOfWindowIcmps").
    @Test func icmpQuotingAnUnsentSequenceIsIgnored() {
        var sc = TCPScenario()
        let fd = sc.connect()
        let syn = sc.expectOne(flags: [.syn])!
        for seq in [syn.seq &+ 1, syn.seq &- 1, syn.seq &+ 100_000] {
            Self.deliver(
                &sc,
                Self.icmpError(code: ICMPv4UnreachableCode.port, localPort: 50000, peerPort: 40000, seq: seq)
            )
        }
        #expect(sc.state(fd) == .synSent)

        var est = TCPScenario()
        let c = est.passiveOpen(options: TCPOptions(mss: 1460))
        est.write(c.fd!, Build.pattern(1000))
        est.expectOne(seq: c.ack, length: 1000)
        Self.deliver(
            &est,
            Self.icmpError(
                code: ICMPv4UnreachableCode.fragmentationNeeded,
                mtu: 600,
                localPort: 80,
                peerPort: 40000,
                seq: c.ack + 1000
            )
        )
        est.expectNone()
        #expect(est.info(c.fd!)?.mss == 1460)
    }

    /// RFC 5927 §4.1 / RFC 1122 §4.2.3.9: in a synchronized state unreachables are soft errors;
    /// Linux reports none of them to the application (without IP_RECVERR).
    @Test func softErrorsDoNotResetAnEstablishedConnection() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        let fd = c.fd!
        sc.write(fd, Build.pattern(100))
        sc.expectOne(seq: c.ack, length: 100)
        for code in [
            ICMPv4UnreachableCode.net, ICMPv4UnreachableCode.host, ICMPv4UnreachableCode.port,
            ICMPv4UnreachableCode.protocol,
        ] {
            Self.deliver(&sc, Self.icmpError(code: code, localPort: 80, peerPort: 40000, seq: c.ack))
        }
        Self.deliver(
            &sc,
            Self.icmpError(type: ICMPv4Type.timeExceeded, code: 0, localPort: 80, peerPort: 40000, seq: c.ack)
        )
        sc.expectNone()
        #expect(sc.state(fd) == .established)
        #expect(sc.stack.readiness(fd)?.contains(.error) == false)
        sc.send(c, ack: c.ack + 100, at: .ms(5))
        #expect(sc.write(fd, [1]).value == 1)
        sc.expectOne(seq: c.ack + 100, length: 1)
    }

    /// RFC 1191 §6.3: fragmentation needed with a next-hop MTU lowers the MSS, and what was
    /// lost goes again in smaller segments.
    @Test func fragmentationNeededLowersTheMSS() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: TCPOptions(mss: 1460))
        let fd = c.fd!
        let data = Build.pattern(3000)
        sc.write(fd, data)
        #expect(sc.take().map(\.payload.count) == [1460, 1460])
        Self.deliver(
            &sc,
            Self.icmpError(
                code: ICMPv4UnreachableCode.fragmentationNeeded,
                mtu: 1000,
                localPort: 80,
                peerPort: 40000,
                seq: c.ack
            )
        )
        #expect(sc.info(fd)?.mss == 960)
        let again = sc.take()
        #expect(again.map(\.seq) == [c.ack, c.ack + 960, c.ack + 1920, c.ack + 2880])
        #expect(again.map(\.payload.count) == [960, 960, 960, 120])
        #expect(again.flatMap(\.payload) == data)
        #expect(sc.state(fd) == .established)
        // An old router (next-hop MTU 0): RFC 1191 §5 plateau, here 576 → MSS 536.
        Self.deliver(
            &sc,
            Self.icmpError(
                code: ICMPv4UnreachableCode.fragmentationNeeded,
                mtu: 0,
                localPort: 80,
                peerPort: 40000,
                seq: c.ack
            )
        )
        #expect(sc.info(fd)?.mss == 536)
        // A silly MTU is floored at Linux's minimum MSS, 88.
        Self.deliver(
            &sc,
            Self.icmpError(
                code: ICMPv4UnreachableCode.fragmentationNeeded,
                mtu: 68,
                localPort: 80,
                peerPort: 40000,
                seq: c.ack
            )
        )
        #expect(sc.info(fd)?.mss == 88)
    }
}
