import Testing

@testable import TCPIPCore

/// Received frames with offload metadata (`Stack.receive(frame:…offload:)`): a checksum the
/// device left partial or verified is not checked again, only where the metadata points, and
/// a TCP super-frame (the device's GRO) is one segment, acknowledged at once.
@Suite struct TrustedChecksumTests {
    static let mss = 1460
    /// Ethernet 14 + IPv4 20: where the TCP header starts in the frame.
    static let tcpStart: UInt16 = 34

    /// A frame from the peer carrying `payload` on `c`, its TCP checksum left partial as Linux
    /// leaves it for a device (CHECKSUM_PARTIAL): the field holds the folded pseudo-header sum.
    static func partialFrame(_ sc: TCPScenario, _ c: PeerConnection, payload: [UInt8]) -> [UInt8] {
        var tcp = TCPScenario.segment(
            seq: c.seq,
            ack: c.ack,
            flags: [.ack, .psh],
            window: 65535,
            options: TCPOptions(),
            payload: payload,
            from: c.peerPort,
            to: c.localPort
        )
        var pseudo = InternetChecksum()
        pseudo.addPseudoHeader(
            source: TCPScenario.peerIP,
            destination: TCPScenario.localIP,
            protocol: IPProtocol.tcp,
            length: tcp.count
        )
        tcp[16] = UInt8(pseudo.folded >> 8)
        tcp[17] = UInt8(truncatingIfNeeded: pseudo.folded)
        return sc.ipFrame(protocol: IPProtocol.tcp, tcp)
    }

    static func superFrame(_ payload: Int) -> FrameOffload {
        FrameOffload(
            flags: .needsChecksum,
            segmentationType: .tcpIPv4,
            headerLength: 54,
            segmentSize: UInt16(mss),
            checksumStart: tcpStart,
            checksumOffset: 16
        )
    }

    @Test func aSuperFrameWithAPartialChecksumIsOneSegmentAcknowledgedAtOnce() throws {
        var sc = TCPScenario()
        var c = sc.passiveOpen(options: TCPOptions(mss: UInt16(Self.mss)))
        let data = Build.pattern(3 * Self.mss)
        sc.receive(Self.partialFrame(sc, c, payload: data), offload: Self.superFrame(data.count))
        // Three segments' worth: acknowledged at once (every second full-sized segment,
        // RFC 9293 §3.8.6.3, counted per segment merged), not after the delayed-ACK timeout.
        let ack = try #require(sc.take().last)
        #expect(ack.ack == c.seq &+ UInt32(data.count))
        #expect(sc.stack.counters[.linkSuperFramesIn] == 1)
        #expect(sc.stack.counters[.tcpBadChecksum] == 0)
        c.seq = c.seq &+ UInt32(data.count)
        #expect(sc.read(c.fd!).value?.bytes == data)
    }

    @Test func withoutMetadataAPartialChecksumIsABadOne() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: TCPOptions(mss: UInt16(Self.mss)))
        sc.receive(Self.partialFrame(sc, c, payload: Build.pattern(100)))
        #expect(sc.stack.counters[.tcpBadChecksum] == 1)
        #expect(sc.take().isEmpty)
    }

    /// NEEDS_CSUM vouches for the checksum at `csum_start` only: pointing anywhere but the TCP
    /// header, it leaves the TCP checksum to be checked.
    @Test func aPartialChecksumElsewhereLeavesTheTCPChecksumChecked() {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: TCPOptions(mss: UInt16(Self.mss)))
        var offload = Self.superFrame(100)
        offload.segmentationType = .none
        offload.checksumStart = 14
        sc.receive(Self.partialFrame(sc, c, payload: Build.pattern(100)), offload: offload)
        #expect(sc.stack.counters[.tcpBadChecksum] == 1)
    }

    /// DATA_VALID: the device verified the checksums, so even a wrong one is taken (as Linux
    /// takes CHECKSUM_UNNECESSARY).
    @Test func dataValidIsTrusted() throws {
        var sc = TCPScenario()
        let c = sc.passiveOpen(options: TCPOptions(mss: UInt16(Self.mss)))
        let data = Build.pattern(100)
        sc.receive(Self.partialFrame(sc, c, payload: data), offload: FrameOffload(flags: .dataValid))
        #expect(sc.stack.counters[.tcpBadChecksum] == 0)
        sc.advance(ms: 500)
        #expect(try #require(sc.take().last).ack == c.seq &+ 100)
        #expect(sc.read(c.fd!).value?.bytes == data)
    }

    /// The trust reaches the frame's own bytes only: an address outside them is not covered.
    @Test func trustCoversOnlyTheFrameDescribed() {
        let frame = [UInt8](repeating: 0, count: 100)
        frame.withUnsafeBytes { f in
            let partial = TrustedChecksum(frame: f, offload: FrameOffload(flags: .needsChecksum, checksumStart: 34))
            #expect(partial.covers(UnsafeRawBufferPointer(rebasing: f[34...])))
            #expect(!partial.covers(UnsafeRawBufferPointer(rebasing: f[20...])))
            let valid = TrustedChecksum(frame: f, offload: FrameOffload(flags: .dataValid))
            #expect(valid.covers(UnsafeRawBufferPointer(rebasing: f[34...])))
            let other = [UInt8](repeating: 0, count: 10)
            other.withUnsafeBytes { #expect(!valid.covers($0)) }
            #expect(!TrustedChecksum.none.covers(f))
        }
    }
}
