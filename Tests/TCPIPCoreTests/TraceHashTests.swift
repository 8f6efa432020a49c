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

    static let pinned: [String: UInt64] = [
        "udp42": 10_534_391_870_431_040_316,
        "tcp3": 2_962_554_783_852_826_610,
        "tcp11": 7_401_037_098_336_067_825,
        "tcp57": 12_217_601_148_000_233_416,
        "tcp123": 16_960_985_163_926_998_625,
        "tcpclean": 319_125_819_094_412_538,
    ]
}
