import Testing

@testable import TCPIPCore

@Suite struct SequenceNumberTests {
    typealias S = SequenceNumber

    @Test func additionWrapsAt2To32() {
        #expect(S(0xFFFF_FFFF) + 1 == S(0))
        #expect(S(0xFFFF_FFF0) + 0x20 == S(0x10))
        #expect(S(0) - 1 == S(0xFFFF_FFFF))
        #expect(S(5) + (-10) == S(0xFFFF_FFFB))
        #expect(S(7) + (1 << 32) == S(7))
        #expect(S(7) + Int.max == S(6))  // Int.max ≡ 2^32 − 1 (mod 2^32)
        #expect(S(7) - Int.min == S(7))
        var s = S(0xFFFF_FFFE)
        s += 3
        #expect(s == S(1))
        s -= 2
        #expect(s == S(0xFFFF_FFFF))
    }

    @Test func signedDistanceAcrossTheWrap() {
        #expect(S(5) - S(0xFFFF_FFFE) == 7)
        #expect(S(0xFFFF_FFFE) - S(5) == -7)
        #expect(S(100) - S(100) == 0)
        #expect((S(0xFFFF_FFF0) + 1000) - S(0xFFFF_FFF0) == 1000)
    }

    @Test func comparisonsAcrossTheWrap() {
        #expect(S(0xFFFF_FFF0) < S(0x10))
        #expect(!(S(0x10) < S(0xFFFF_FFF0)))
        #expect(S(0x10) > S(0xFFFF_FFF0))
        #expect(S(0xFFFF_FFFF) <= S(0))
        #expect(S(1) < S(2))
        #expect(!(S(2) < S(2)))
        #expect(S(2) <= S(2))
    }

    @Test func near2To31() {
        // 2^31 − 1 ahead is still ahead; 2^31 + 1 ahead is behind.
        #expect(S(0x7FFF_FFFF) - S(0) == Int(Int32.max))
        #expect(S(0) < S(0x7FFF_FFFF))
        #expect(S(0x8000_0001) < S(0))
        #expect(S(0x8000_0001) - S(0) == -0x7FFF_FFFF)
        // Exactly 2^31 apart: the distance is −2^31 both ways (RFC 1982 leaves this undefined).
        #expect(S(0x8000_0000) - S(0) == Int(Int32.min))
        #expect(S(0) - S(0x8000_0000) == Int(Int32.min))
        // Around the other half of the circle.
        #expect(S(0x7FFF_FFFF) < S(0x8000_0000))
        #expect(S(0xFFFF_FFFF) - S(0x7FFF_FFFF) == Int(Int32.min))
    }

    @Test func windows() {
        let start = S(0xFFFF_FFF0)
        #expect(start.isInWindow(start: start, length: 0x20))
        #expect(S(0).isInWindow(start: start, length: 0x20))
        #expect(S(0xF).isInWindow(start: start, length: 0x20))
        #expect(!S(0x10).isInWindow(start: start, length: 0x20))
        #expect(!S(0xFFFF_FFEF).isInWindow(start: start, length: 0x20))
        #expect(!start.isInWindow(start: start, length: 0))
        #expect(!start.isInWindow(start: start, length: -5))
        #expect(S(0x3FFF_FFFF).isInWindow(start: S(0), length: 1 << 30))
        #expect(!S(0x4000_0000).isInWindow(start: S(0), length: 1 << 30))
        // A length beyond the whole space covers every number.
        #expect(S(0x1234).isInWindow(start: S(0x1235), length: 1 << 33))
        #expect(S(0x1234).isInWindow(start: S(0x1235), length: 1 << 32))
        #expect(!S(0x1234).isInWindow(start: S(0x1235), length: (1 << 32) - 1))
    }

    @Test func maxAndMin() {
        #expect(S.max(S(0xFFFF_FFF0), S(5)) == S(5))
        #expect(S.min(S(0xFFFF_FFF0), S(5)) == S(0xFFFF_FFF0))
        #expect(S.max(S(3), S(3)) == S(3))
        #expect(S.min(S(1), S(2)) == S(1))
    }

    @Test func description() {
        #expect(S(4_294_967_295).description == "4294967295")
        #expect("\(S(0))" == "0")
    }
}
