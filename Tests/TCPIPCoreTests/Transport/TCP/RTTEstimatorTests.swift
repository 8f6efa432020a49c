import Testing

@testable import TCPIPCore

@Suite struct RTTEstimatorTests {
    static let ms: Int64 = 1_000_000

    @Test func beforeAnyMeasurementRTOIsOneSecond() {
        let e = RTTEstimator()
        #expect(e.srtt == nil)
        #expect(e.rttvar == 0)
        #expect(e.rto == 1000 * Self.ms)
        #expect(e.baseRTO == 1000 * Self.ms)
        #expect(e.backoffs == 0)
    }

    @Test func firstSampleSetsSRTTAndHalfVariance() {
        // (2.2): SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4·RTTVAR) = 100 + 200.
        var e = RTTEstimator()
        e.sample(100 * Self.ms)
        #expect(e.srtt == 100 * Self.ms)
        #expect(e.rttvar == 50 * Self.ms)
        #expect(e.rto == 300 * Self.ms)
        #expect(e.baseRTO == 300 * Self.ms)
    }

    @Test func laterSamplesFollow2_3() {
        var e = RTTEstimator()
        e.sample(100 * Self.ms)
        // RTTVAR = 3/4·50 + 1/4·|100 − 200| = 62.5; SRTT = 7/8·100 + 1/8·200 = 112.5;
        // RTO = 112.5 + 4·62.5 = 362.5 ms.
        e.sample(200 * Self.ms)
        #expect(e.rttvar == 62_500_000)
        #expect(e.srtt == 112_500_000)
        #expect(e.rto == 362_500_000)
        // RTTVAR = 3/4·62.5 + 1/4·|112.5 − 50| = 46.875 + 15.625 = 62.5;
        // SRTT = 7/8·112.5 + 1/8·50 = 98.4375 + 6.25 = 104.6875; RTO = 104.6875 + 250 = 354.6875 ms.
        e.sample(50 * Self.ms)
        #expect(e.rttvar == 62_500_000)
        #expect(e.srtt == 104_687_500)
        #expect(e.rto == 354_687_500)
    }

    @Test func minimumIs200msLikeLinux() {
        // 10 + 4·5 = 30 ms, rounded up by (2.4) to the 200 ms minimum.
        var e = RTTEstimator()
        e.sample(10 * Self.ms)
        #expect(e.srtt == 10 * Self.ms)
        #expect(e.rto == 200 * Self.ms)
    }

    @Test func granularityBoundsTheVarianceTerm() {
        // With no minimum, RTO = SRTT + max(G, K·RTTVAR): 100 ns + max(1 ms, 200 ns).
        var e = RTTEstimator(minRTO: 0)
        e.sample(100)
        #expect(e.rto == 1_000_100)
        // Identical samples decay RTTVAR towards 0; G still applies.
        for _ in 0..<100 { e.sample(100) }
        #expect(e.rttvar == 0)
        #expect(e.rto == 1_000_100)
    }

    @Test func maximumCapsRTO() {
        // 100 s + 4·50 s = 300 s, capped at 120 s (2.5).
        var e = RTTEstimator()
        e.sample(100_000 * Self.ms)
        #expect(e.rto == 120_000 * Self.ms)
    }

    @Test func backoffDoublesUpToTheCap() {
        var e = RTTEstimator()
        for (i, seconds) in [2, 4, 8, 16, 32, 64].enumerated() {
            e.backoff()
            #expect(e.rto == Int64(seconds) * 1000 * Self.ms)
            #expect(e.backoffs == i + 1)
        }
        #expect(e.rto == 64_000 * Self.ms)
        e.backoff()
        #expect(e.rto == 120_000 * Self.ms)
        for _ in 0..<100 { e.backoff() }
        #expect(e.rto == 120_000 * Self.ms)
        #expect(e.backoffs == 107)
        #expect(e.baseRTO == 1000 * Self.ms)
        e.resetBackoff()
        #expect(e.rto == 1000 * Self.ms)
        #expect(e.backoffs == 0)
    }

    @Test func sampleEndsBackoff() {
        var e = RTTEstimator()
        e.sample(100 * Self.ms)
        e.backoff()
        e.backoff()
        #expect(e.rto == 1200 * Self.ms)
        #expect(e.backoffs == 2)
        e.sample(100 * Self.ms)
        // RTTVAR = 3/4·50 + 0 = 37.5; SRTT = 100; RTO = 100 + 150 = 250 ms.
        #expect(e.backoffs == 0)
        #expect(e.rto == 250 * Self.ms)
    }

    @Test func hostileInputsDoNotTrap() {
        var e = RTTEstimator(initialRTO: 1000 * Self.ms, minRTO: 0, maxRTO: .max, granularity: .max)
        e.sample(.max)
        e.sample(.min)
        e.sample(-5)
        for _ in 0..<200 { e.backoff() }
        #expect(e.rto <= RTTEstimator.maxSample)
        var f = RTTEstimator()
        f.sample(-1)
        #expect(f.srtt == 0)
        #expect(f.rto == 200 * Self.ms)
    }

    @Test func synTimeoutReinitializesToThreeSeconds() {
        // (5.7)
        var e = RTTEstimator()
        e.backoff()
        e.reinitializeAfterSYNTimeout()
        #expect(e.rto == 3000 * Self.ms)
        #expect(e.backoffs == 0)
        e.sample(100 * Self.ms)
        #expect(e.rto == 300 * Self.ms)
    }
}
