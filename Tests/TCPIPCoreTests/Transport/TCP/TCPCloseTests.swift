import Testing

@testable import TCPIPCore

/// Closing: RFC 9293 §3.6 (figures 12 and 13), §3.10.4 CLOSE and ABORT, §3.10.7.4 "eighth,
/// check the FIN bit", TIME-WAIT (§3.4.2, 2 MSL = 60 s as Linux).
@Suite struct TCPCloseTests {
    @Test func passiveClose() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        let fd = c.fd!
        sc.send(c, [.fin, .ack], at: .ms(1))
        // The FIN is acknowledged at once: <SEQ=SND.NXT><ACK=RCV.NXT+1>.
        sc.expectOne(seq: c.ack, ack: c.seq + 1, flags: [.ack], window: 65535, length: 0, at: .ms(1))
        #expect(sc.state(fd) == .closeWait)
        #expect(sc.read(fd).value?.eof == true)
        // Sending still works in CLOSE-WAIT.
        #expect(sc.write(fd, [1, 2, 3]).value == 3)
        sc.expectOne(seq: c.ack, ack: c.seq + 1, flags: [.ack, .psh], length: 3)
        sc.close(fd)
        sc.expectOne(seq: c.ack + 3, ack: c.seq + 1, flags: [.fin, .ack], length: 0)
        #expect(sc.orphanState() == "LAST-ACK")
        sc.send(c, seq: c.seq + 1, ack: c.ack + 4, at: .ms(2))
        sc.expectNone()
        #expect(sc.orphanState() == nil)
        // The 4-tuple is free: a segment now meets the listener, which resets an ACK.
        sc.send(c, seq: c.seq + 1, ack: c.ack + 4, at: .ms(3))
        sc.expectOne(seq: c.ack + 4, ack: 0, flags: [.rst])
    }

    @Test func lastAckRetransmitsTheFIN() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.send(c, [.fin, .ack])
        sc.expectOne(flags: [.ack])
        sc.close(c.fd!)
        sc.expectOne(seq: c.ack, ack: c.seq + 1, flags: [.fin, .ack], at: .zero)
        sc.advance(to: .ms(1500))
        sc.expectOne(seq: c.ack, ack: c.seq + 1, flags: [.fin, .ack], at: .seconds(1))
    }

    @Test func activeClose() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        let fd = c.fd!
        sc.shutdown(fd, .write)
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.fin, .ack], window: 65535, length: 0)
        #expect(sc.state(fd) == .finWait1)
        #expect(sc.write(fd, [1]).error == .EPIPE)
        sc.send(c, ack: c.ack + 1, at: .ms(1))
        sc.expectNone()
        #expect(sc.state(fd) == .finWait2)
        // Data still arrives in FIN-WAIT-2.
        sc.send(c, payload: [7, 8], at: .ms(2))
        #expect(sc.read(fd).value?.bytes == [7, 8])
        sc.send(c, seq: c.seq + 2, ack: c.ack + 1, [.fin, .ack], at: .ms(3))
        sc.expectOne(seq: c.ack + 1, ack: c.seq + 3, flags: [.ack], length: 0, at: .ms(3))
        #expect(sc.state(fd) == .timeWait)
        #expect(sc.read(fd).value?.eof == true)
        // 2 MSL: 60 s.
        sc.advance(to: Instant.ms(3).adding(nanoseconds: 60_000_000_000 - 1))
        #expect(sc.state(fd) == .timeWait)
        sc.advance(to: Instant.ms(3).adding(seconds: 60))
        #expect(sc.state(fd) == .closed)
        sc.expectNone()
    }

    @Test func finWait1ToTimeWaitOnFINACK() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.close(c.fd!)
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.fin, .ack])
        #expect(sc.orphanState() == "FIN-WAIT-1")
        sc.send(c, ack: c.ack + 1, [.fin, .ack], at: .ms(1))
        sc.expectOne(seq: c.ack + 1, ack: c.seq + 1, flags: [.ack], at: .ms(1))
        #expect(sc.orphanState() == "TIME-WAIT")
        sc.advance(to: Instant.ms(1).adding(seconds: 60))
        #expect(sc.orphanState() == nil)
        sc.expectNone()
    }

    /// RFC 9293 §3.6 figure 13.
    @Test func simultaneousClose() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        let fd = c.fd!
        sc.shutdown(fd, .write)
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.fin, .ack])
        // The peer's FIN crosses ours (it does not acknowledge ours).
        sc.send(c, [.fin, .ack], at: .ms(1))
        sc.expectOne(seq: c.ack + 1, ack: c.seq + 1, flags: [.ack], length: 0, at: .ms(1))
        #expect(sc.state(fd) == .closing)
        sc.send(c, seq: c.seq + 1, ack: c.ack + 1, at: .ms(2))
        sc.expectNone()
        #expect(sc.state(fd) == .timeWait)
        sc.advance(to: Instant.ms(2).adding(seconds: 60))
        #expect(sc.state(fd) == .closed)
    }

    /// RFC 9293 §3.10.7.4 eighth: a FIN in SYN-RECEIVED (with the ACK that completes the
    /// handshake) → CLOSE-WAIT.
    @Test func finInSynReceived() {
        var sc = TCPScenario()
        let lfd = sc.listen()
        sc.send(seq: TCPScenario.peerISN, [.syn])
        sc.expectOne(flags: [.syn, .ack])
        sc.send(seq: TCPScenario.peerISN + 1, ack: TCPScenario.defaultISS + 1, [.fin, .ack], payload: [1, 2])
        sc.expectOne(seq: TCPScenario.defaultISS + 1, ack: TCPScenario.peerISN + 4, flags: [.ack], window: 65535)
        let fd = sc.accept(lfd).value!.fd
        #expect(sc.state(fd) == .closeWait)
        #expect(sc.read(fd).value?.bytes == [1, 2])
        #expect(sc.read(fd).value?.eof == true)
    }

    @Test func timeWaitReACKsARetransmittedFIN() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        let fd = c.fd!
        sc.shutdown(fd, .write)
        sc.expectOne(flags: [.fin, .ack])
        sc.send(c, ack: c.ack + 1, [.fin, .ack])
        sc.expectOne(seq: c.ack + 1, ack: c.seq + 1, flags: [.ack])
        #expect(sc.state(fd) == .timeWait)
        // Our ACK was lost; the FIN comes again: acknowledge it, restart 2 MSL (RFC 9293
        // §3.10.7.4: "Restart the 2 MSL time-wait timeout"; Linux too).
        sc.send(c, ack: c.ack + 1, [.fin, .ack], at: .seconds(30))
        sc.expectOne(seq: c.ack + 1, ack: c.seq + 1, flags: [.ack], window: 65535, at: .seconds(30))
        sc.advance(to: .seconds(61))
        #expect(sc.state(fd) == .timeWait)
        sc.advance(to: .seconds(90))
        #expect(sc.state(fd) == .closed)
        sc.expectNone()
    }

    /// RFC 9293 §3.10.7.4 second: a RST in TIME-WAIT closes it (Linux too, with its default
    /// tcp_rfc1337 = 0).
    @Test func resetInTimeWaitCloses() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.shutdown(c.fd!, .write)
        sc.expectOne(flags: [.fin, .ack])
        sc.send(c, ack: c.ack + 1, [.fin, .ack])
        sc.expectOne(flags: [.ack])
        #expect(sc.state(c.fd!) == .timeWait)
        sc.send(c, seq: c.seq + 1, [.rst], at: .seconds(1))
        sc.expectNone()
        #expect(sc.state(c.fd!) == .closed)
        #expect(sc.read(c.fd!).value?.eof == true)
    }

    /// Data or a bare ACK in TIME-WAIT that is not a FIN: acknowledged (unacceptable), no restart.
    @Test func timeWaitACKsStraySegments() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.shutdown(c.fd!, .write)
        sc.expectOne(flags: [.fin, .ack])
        sc.send(c, ack: c.ack + 1, [.fin, .ack])
        sc.expectOne(flags: [.ack])
        sc.send(c, seq: c.seq + 1, ack: c.ack + 1, payload: [1], at: .seconds(10))
        sc.expectOne(seq: c.ack + 1, ack: c.seq + 1, flags: [.ack], at: .seconds(10))
        sc.advance(to: .seconds(60))
        #expect(sc.state(c.fd!) == .closed)
    }

    @Test func timeWaitAcceptsANewSYN() {
        var sc = TCPScenario()
        let lfd = sc.listen()
        let c = sc.passiveOpen(listener: lfd)
        sc.close(c.fd!)
        sc.expectOne(flags: [.fin, .ack])
        sc.send(c, ack: c.ack + 1, [.fin, .ack])
        sc.expectOne(flags: [.ack])
        #expect(sc.orphanState() == "TIME-WAIT")
        // RFC 9293 §3.10.7.4 / RFC 1122 §4.2.2.13: a SYN above the old sequence space reopens.
        sc.send(seq: c.seq + 100_000, [.syn], at: .seconds(1))
        sc.expectOne(seq: TCPScenario.defaultISS, ack: c.seq + 100_001, flags: [.syn, .ack])
    }

    // MARK: ABORT

    /// RFC 9293 §3.10.4 / RFC 2525 §2.17: closing with unread data resets the connection:
    /// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> (as Linux).
    @Test func closeWithUnreadDataResets() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.send(c, payload: Build.pattern(10), at: .ms(1))
        sc.close(c.fd!)
        sc.expectOne(seq: c.ack, ack: c.seq + 10, flags: [.rst, .ack], length: 0, at: .ms(1))
        #expect(sc.orphanState() == nil)
        sc.advance(seconds: 5)
        sc.expectNone()
    }

    @Test func dataForAClosedSocketResets() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.close(c.fd!)
        sc.expectOne(seq: c.ack, ack: c.seq, flags: [.fin, .ack])
        sc.send(c, ack: c.ack + 1, at: .ms(1))
        #expect(sc.orphanState() == "FIN-WAIT-2")
        // Nobody can read it: RST (RFC 1122 §4.2.2.13, RFC 2525 §2.17), <SEQ=SND.NXT>, and the
        // data not taken. (Linux answers <SEQ=SEG.ACK><CTL=RST>: the same sequence number here.)
        sc.send(c, ack: c.ack + 1, payload: [1, 2, 3], at: .ms(2))
        sc.expectOne(seq: c.ack + 1, ack: c.seq, flags: [.rst, .ack], at: .ms(2))
        #expect(sc.orphanState() == nil)
    }

    @Test func lingerZeroResets() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.setOption(c.fd!, .soLinger, 0)
        sc.write(c.fd!, Build.pattern(10))
        sc.expectOne(length: 10)
        sc.close(c.fd!)
        sc.expectOne(seq: c.ack + 10, ack: c.seq, flags: [.rst, .ack], length: 0)
        #expect(sc.orphanState() == nil)
        sc.advance(seconds: 5)
        sc.expectNone()
    }

    /// The RST of an abort carries the highest sequence number sent, not the go-back point of a
    /// retransmission timeout (as Linux's tcp_acceptable_seq: SND.NXT, which Linux never moves
    /// back): the peer, RFC 5961, accepts only a RST exactly at its RCV.NXT.
    @Test func abortAfterARetransmissionTimeoutUsesTheHighestSequence() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: TCPOptions(mss: 1000))
        sc.setOption(c.fd!, .soLinger, 0)
        sc.write(c.fd!, Build.pattern(2000))
        #expect(sc.take().count == 2)
        sc.advance(to: .ms(1500))
        sc.expectOne(seq: c.ack, length: 1000, at: .seconds(1))
        sc.close(c.fd!)
        sc.expectOne(seq: c.ack + 2000, ack: c.seq, flags: [.rst, .ack], length: 0)
    }

    @Test func orphanInFinWait2TimesOut() {
        var sc = TCPScenario()
        let c = sc.passiveOpen()
        sc.close(c.fd!)
        sc.expectOne(flags: [.fin, .ack])
        sc.send(c, ack: c.ack + 1, at: .ms(500))
        #expect(sc.orphanState() == "FIN-WAIT-2")
        // Linux's tcp_fin_timeout, 60 s, then gone without a word.
        sc.advance(to: Instant.ms(60_500).adding(nanoseconds: -1))
        #expect(sc.orphanState() == "FIN-WAIT-2")
        sc.advance(to: .ms(60_500))
        #expect(sc.orphanState() == nil)
        sc.expectNone()
    }

    /// Closing a listener resets the connections it had not handed out.
    @Test func closingAListenerResetsUnacceptedConnections() {
        var sc = TCPScenario()
        let lfd = sc.listen()
        // One completed, not accepted.
        sc.send(seq: 5000, [.syn], from: 40000)
        sc.expectOne(flags: [.syn, .ack])
        sc.send(seq: 5001, ack: TCPScenario.defaultISS + 1, [.ack], from: 40000)
        // One embryonic.
        sc.send(seq: 8000, [.syn], from: 40001)
        sc.expectOne(flags: [.syn, .ack])
        sc.close(lfd)
        let resets = sc.take()
        #expect(resets.count == 2)
        if resets.count == 2 {
            TCPScenario.check(
                resets[0],
                seq: TCPScenario.defaultISS + 1,
                ack: 5001,
                flags: [.rst, .ack],
                "",
                #_sourceLocation
            )
            #expect(resets[0].destinationPort == 40000)
            // The embryo is reset too (Linux drops it silently and resets the peer's next
            // segment instead; RFC 9293 leaves it open).
            TCPScenario.check(
                resets[1],
                seq: TCPScenario.defaultISS + 1,
                ack: 8001,
                flags: [.rst, .ack],
                "",
                #_sourceLocation
            )
            #expect(resets[1].destinationPort == 40001)
        }
        // Both are gone: the port is closed.
        sc.send(seq: 8001, ack: TCPScenario.defaultISS + 1, [.ack], from: 40001)
        sc.expectOne(seq: TCPScenario.defaultISS + 1, flags: [.rst])
        sc.advance(seconds: 10)
        sc.expectNone()
    }
}
