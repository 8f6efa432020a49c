import Testing

@testable import TCPIPCore

@Suite struct InitialSequenceNumberTests {
    static let generator = InitialSequenceNumberGenerator(k0: 0x0123_4567_89ab_cdef, k1: 0xfedc_ba98_7654_3210)
    static let local = IPv4Address(10, 99, 0, 2)
    static let remote = IPv4Address(10, 99, 0, 1)

    static func isn(
        localPort: UInt16 = 80,
        remotePort: UInt16 = 40000,
        remote: IPv4Address = remote,
        at ns: Int64
    )
        -> SequenceNumber
    {
        generator.generate(
            localAddress: local,
            localPort: localPort,
            remoteAddress: remote,
            remotePort: remotePort,
            now: Instant(nanoseconds: ns)
        )
    }

    @Test func sameTupleAndTimeGivesSameISN() {
        #expect(Self.isn(at: 123_456_789) == Self.isn(at: 123_456_789))
        let again = InitialSequenceNumberGenerator(k0: 0x0123_4567_89ab_cdef, k1: 0xfedc_ba98_7654_3210)
        #expect(
            again.generate(
                localAddress: Self.local,
                localPort: 80,
                remoteAddress: Self.remote,
                remotePort: 40000,
                now: Instant(nanoseconds: 123_456_789)
            ) == Self.isn(at: 123_456_789)
        )
    }

    @Test func differentTupleGivesDifferentISN() {
        let base = Self.isn(at: 5_000_000_000)
        #expect(Self.isn(remotePort: 40001, at: 5_000_000_000) != base)
        #expect(Self.isn(localPort: 81, at: 5_000_000_000) != base)
        #expect(Self.isn(remote: IPv4Address(10, 99, 0, 3), at: 5_000_000_000) != base)
        // Swapping the ports is a different connection, too.
        #expect(Self.isn(localPort: 40000, remotePort: 80, at: 5_000_000_000) != base)
        // And another key gives another sequence.
        let other = InitialSequenceNumberGenerator(k0: 1, k1: 2).generate(
            localAddress: Self.local,
            localPort: 80,
            remoteAddress: Self.remote,
            remotePort: 40000,
            now: Instant(nanoseconds: 5_000_000_000)
        )
        #expect(other != base)
    }

    @Test func timerTicksEvery4Microseconds() {
        let t0 = Self.isn(at: 1_000_000_000)
        #expect(Self.isn(at: 2_000_000_000) - t0 == 250_000)
        #expect(Self.isn(at: 1_000_004_000) - t0 == 1)
        #expect(Self.isn(at: 1_000_003_999) - t0 == 0)
        #expect(Self.isn(at: 61_000_000_000) - t0 == 15_000_000)
    }

    @Test func timerWrapsWithoutTrapping() {
        // 2^32 ticks of 4 µs later the timer is back where it was.
        let t0 = Self.isn(at: 7_000_000)
        #expect(Self.isn(at: 7_000_000 + 4000 * (1 << 32)) == t0)
        _ = Self.isn(at: Int64.max)
        _ = Self.isn(at: Int64.min)
    }
}
