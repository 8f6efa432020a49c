import Testing

@testable import TCPIPCore

/// The SYN cookie itself (RFC 4987 §3.6, in Linux's layout): what it carries, how long it
/// lives, and that nothing else passes for one.
@Suite struct SYNCookiesTests {
    static let tuple = TCPFourTuple(
        localAddress: IPv4Address(10, 0, 0, 2),
        localPort: 80,
        remoteAddress: IPv4Address(10, 0, 0, 1),
        remotePort: 40000
    )

    static func jar(minute: UInt32) -> SYNCookies {
        var random = SeededRandom(seed: 7)
        var jar = SYNCookies()
        jar.rotate(minute: minute, random: &random)
        return jar
    }

    @Test func aCookieReturnsItsMSSClassWithinTwoMinutes() {
        let isn = SequenceNumber(123_456)
        for index: UInt32 in 0..<4 {
            let jar = Self.jar(minute: 10)
            let cookie = jar.make(tuple: Self.tuple, clientISN: isn, mssIndex: index, minute: 10)
            #expect(jar.check(tuple: Self.tuple, clientISN: isn, cookie: cookie, minute: 10) == index)
            #expect(jar.check(tuple: Self.tuple, clientISN: isn, cookie: cookie, minute: 11) == index)
            // Linux MAX_SYNCOOKIE_AGE: a cookie two minutes old is dead.
            #expect(jar.check(tuple: Self.tuple, clientISN: isn, cookie: cookie, minute: 12) == nil)
        }
    }

    /// (As in Linux's layout, a cookie and ISN shifted together by less than 4 still decode, to
    /// another MSS class: 2 of the 24 checked bits carry the class.)
    @Test func aCookieBelongsToItsFourTupleAndClientISN() {
        let jar = Self.jar(minute: 3)
        let isn = SequenceNumber(99)
        let cookie = jar.make(tuple: Self.tuple, clientISN: isn, mssIndex: 3, minute: 3)
        var other = Self.tuple
        other.remotePort = 40001
        #expect(jar.check(tuple: other, clientISN: isn, cookie: cookie, minute: 3) == nil)
        #expect(jar.check(tuple: Self.tuple, clientISN: isn + 1000, cookie: cookie, minute: 3) == nil)
        #expect(jar.check(tuple: Self.tuple, clientISN: isn, cookie: cookie + 1, minute: 3) == nil)
    }

    /// Guessing: of 100 000 random values, about 4 in 2^24 pass the 24-bit check per
    /// candidate minute; none should here.
    @Test func randomValuesAreNotCookies() {
        let jar = Self.jar(minute: 5)
        var random = SeededRandom(seed: 11)
        var passed = 0
        for _ in 0..<100_000 {
            let guess = SequenceNumber(UInt32(truncatingIfNeeded: random.next()))
            if jar.check(tuple: Self.tuple, clientISN: SequenceNumber(1), cookie: guess, minute: 5) != nil {
                passed += 1
            }
        }
        #expect(passed <= 1)
    }

    /// The secret rotates every 64 minutes; a cookie made just before a rotation still
    /// validates after it, with the previous key.
    @Test func aCookieSurvivesOneKeyRotation() {
        var random = SeededRandom(seed: 3)
        var jar = SYNCookies()
        jar.rotate(minute: 63, random: &random)
        let cookie = jar.make(tuple: Self.tuple, clientISN: SequenceNumber(5), mssIndex: 2, minute: 63)
        let before = jar.current!.k0
        jar.rotate(minute: 64, random: &random)
        #expect(jar.current!.k0 != before && jar.previous?.k0 == before)
        #expect(jar.check(tuple: Self.tuple, clientISN: SequenceNumber(5), cookie: cookie, minute: 64) == 2)
        // A cookie of the new epoch, under the new key.
        let fresh = jar.make(tuple: Self.tuple, clientISN: SequenceNumber(5), mssIndex: 1, minute: 64)
        #expect(jar.check(tuple: Self.tuple, clientISN: SequenceNumber(5), cookie: fresh, minute: 65) == 1)
    }

    @Test func theMSSClassIsTheLargestNotAboveThePeers() {
        #expect(SYNCookies.mssIndex(forPeerMSS: 100) == 0)
        #expect(SYNCookies.mssIndex(forPeerMSS: 1299) == 0)
        #expect(SYNCookies.mssIndex(forPeerMSS: 1300) == 1)
        #expect(SYNCookies.mssIndex(forPeerMSS: 1459) == 2)
        #expect(SYNCookies.mssIndex(forPeerMSS: 9000) == 3)
    }

    /// Linux's cookie_init_timestamp / cookie_timestamp_decode: window scale in 4 bits (0xF
    /// for none), SACK in bit 4, never a TSval ahead of the clock.
    @Test func timestampsCarryWindowScaleAndSACK() {
        let ts = SYNCookies.timestamp(clock: 1_000_000, windowScale: 7, sack: true)
        #expect(ts <= 1_000_000 && 1_000_000 - ts < 64)
        #expect(ts & 0x3F == 0x17)
        let o = SYNCookies.options(fromEcho: ts)
        #expect(o?.windowScale == 7 && o?.sack == true)
        let none = SYNCookies.timestamp(clock: 1_000_000, windowScale: nil, sack: false)
        #expect(SYNCookies.options(fromEcho: none)?.windowScale == nil)
        #expect(SYNCookies.options(fromEcho: none)?.sack == false)
        // A shift of 15 is impossible; ECN was never offered.
        #expect(SYNCookies.options(fromEcho: 0x0E | 0x20) == nil)
        // Across the wrap, the TSval stays at or below the clock in sequence space.
        let wrapped = SYNCookies.timestamp(clock: 5, windowScale: 14, sack: true)
        #expect(Int32(bitPattern: wrapped &- 5) <= 0)
    }
}
