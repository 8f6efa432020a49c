import Testing

@testable import TCPIPCore

/// Keepalive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6) with Linux's knobs: SO_KEEPALIVE,
/// TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT.
@Suite struct TCPKeepaliveTests {
    static func configure(_ sc: inout TCPScenario, _ fd: Int32) {
        sc.setOption(fd, .soKeepAlive, 1)
        sc.setOption(fd, .tcpKeepIdle, 10)
        sc.setOption(fd, .tcpKeepIntvl, 5)
        sc.setOption(fd, .tcpKeepCnt, 3)
    }

    @Test func unansweredProbesTimeOut() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        let fd = c.fd!
        Self.configure(&sc, fd)
        sc.advance(seconds: 100)
        let segments = sc.take()
        // Probes <SEQ=SND.UNA−1><ACK=RCV.NXT>, no data (as Linux), after 10 s idle then every
        // 5 s; after the third unanswered one, a RST and ETIMEDOUT (Linux tcp_keepalive_timer).
        #expect(segments.map { $0.time.nanoseconds / 1_000_000_000 } == [10, 15, 20, 25])
        for p in segments.prefix(3) {
            TCPScenario.check(
                p,
                seq: c.ack - 1,
                ack: c.seq,
                flags: [.ack],
                window: 65535,
                length: 0,
                "",
                #_sourceLocation
            )
        }
        if let rst = segments.last {
            TCPScenario.check(rst, seq: c.ack, ack: c.seq, flags: [.rst, .ack], length: 0, "", #_sourceLocation)
        }
        #expect(sc.state(fd) == .closed)
        #expect(sc.read(fd).error == .ETIMEDOUT)
    }

    @Test func answeredProbesKeepTheConnection() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        let fd = c.fd!
        Self.configure(&sc, fd)
        var times: [Int64] = []
        while sc.now < .seconds(100) {
            sc.advance(to: min(sc.stack.nextDeadline() ?? .seconds(100), .seconds(100)))
            for p in sc.take() {
                TCPScenario.check(p, seq: c.ack - 1, ack: c.seq, flags: [.ack], length: 0, "", #_sourceLocation)
                times.append(p.time.nanoseconds / 1_000_000_000)
                sc.send(c)
            }
        }
        // Each answer restarts the idle period.
        #expect(times == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
        #expect(sc.state(fd) == .established)
    }

    @Test func trafficPostponesProbes() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        let fd = c.fd!
        Self.configure(&sc, fd)
        sc.send(c, payload: [1], at: .seconds(8))
        sc.advance(to: .ms(8100))
        sc.expectOne(seq: c.ack, ack: c.seq + 1, flags: [.ack], at: .ms(8040))
        // Idle counts from the last segment received: the probe comes at 8 + 10 s.
        sc.advance(to: .ms(17_999))
        sc.expectNone()
        sc.advance(to: .ms(18_001))
        sc.expectOne(seq: c.ack - 1, ack: c.seq + 1, flags: [.ack], length: 0, at: .seconds(18))
    }

    @Test func keepIdleSetAfterKeepaliveStillApplies() {
        // Setting TCP_KEEPIDLE after SO_KEEPALIVE reschedules the timer (as Linux's
        // tcp_sock_set_keepidle does).
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.setOption(c.fd!, .soKeepAlive, 1)
        sc.setOption(c.fd!, .tcpKeepIdle, 30)
        sc.advance(seconds: 31)
        sc.expectOne(seq: c.ack - 1, ack: c.seq, flags: [.ack], length: 0, at: .seconds(30))
    }
}
