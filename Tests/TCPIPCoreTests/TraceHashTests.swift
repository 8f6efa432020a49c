import TCPIPDrivers
import Testing

@testable import TCPIPCore

/// The trace hashes of fixed scenarios, pinned: a change to the core that alters any frame or
/// its timing shows here. A change that means to alter the wire (a new option, a different
/// ACK policy) updates these values and says why in its commit; a reshaping must not.
@Suite struct TraceHashTests {
    @Test func lossyUDPAndPingScenario() {
        let h = DeterminismTests.lossyScenario(seed: 42).hash
        print("trace hash lossyScenario(42) = \(h)")
        #expect(h == Self.pinned["udp42"])
    }

    @Test(arguments: [UInt64(3), 11, 57, 123])
    func tcpSimulationSeed(seed: UInt64) {
        let r = TCPTransferTests.transfer(size: 256 << 10, seed: seed, faults: TCPSimulationTests.faults(seed: seed))
        print("trace hash tcp\(seed) = \(r.hash)")
        #expect(r.ok, "\(r.detail)")
        #expect(r.hash == Self.pinned["tcp\(seed)"])
    }

    @Test func cleanTCPTransfer() {
        let r = TCPTransferTests.transfer(size: 256 << 10, seed: 1)
        print("trace hash tcpclean = \(r.hash)")
        #expect(r.hash == Self.pinned["tcpclean"])
    }

    /// History: unchanged through the reshaping into layer types; the TCP values changed when
    /// a scaled window field began to be rounded up where rounding down would have moved the
    /// right edge left (RFC 7323 §2.4), which changes the window of some ACKs.
    static let pinned: [String: UInt64] = [
        "udp42": 10_534_391_870_431_040_316,
        "tcp3": 2_124_498_712_123_264_448,
        "tcp11": 16_887_764_948_176_290_369,
        "tcp57": 466_440_083_566_614_260,
        "tcp123": 583_934_873_240_823_869,
        "tcpclean": 15_498_993_541_478_924_408,
    ]
}
