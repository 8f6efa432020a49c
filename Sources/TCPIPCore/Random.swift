/// The stack's source of randomness: a seeded xoshiro256** generator.
///
/// The core never asks the system for entropy; a driver seeds it (from the OS in production,
/// from a test's seed in tests), so every run replays exactly from its seed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Creates a generator whose whole output is determined by `seed`.
    public init(seed: UInt64) {
        var sm = seed
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(&sm)
        s1 = splitmix(&sm)
        s2 = splitmix(&sm)
        s3 = splitmix(&sm)
    }

    /// The next 64 random bits.
    @inlinable public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @usableFromInline func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    /// A uniformly distributed value in `0..<bound` (bound > 0).
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        return next() % bound
    }

    /// `true` with probability `p` (0...1).
    public mutating func chance(_ p: Double) -> Bool {
        guard p > 0 else { return false }
        return Double(next() >> 11) * 0x1.0p-53 < p
    }
}
