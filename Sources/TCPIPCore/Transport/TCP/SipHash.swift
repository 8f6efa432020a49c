/// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): the keyed
/// pseudorandom function RFC 6528 §3 suggests for F() when generating initial sequence numbers.
///
/// Streaming: append integers (as little-endian bytes, the byte order of the reference
/// implementation) or raw bytes, then `finalize()`. No allocation; a partial 8-byte word is kept
/// in `tail` until it is full.
struct SipHash24 {
    private var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64
    /// Bytes appended but not yet compressed, little-endian in the low `tailCount` bytes.
    private var tail: UInt64 = 0
    private var tailCount = 0
    /// Total bytes appended; only the low 8 bits enter the hash (the final block's top byte).
    private var length: UInt64 = 0

    /// A hasher keyed with the 128-bit key `k0 ‖ k1`, where `k0` holds the key's first eight bytes
    /// read little-endian (so the paper's key 00 01 … 0f is `k0 = 0x0706050403020100`).
    init(k0: UInt64, k1: UInt64) {
        v0 = k0 ^ 0x736f_6d65_7073_6575
        v1 = k1 ^ 0x646f_7261_6e64_6f6d
        v2 = k0 ^ 0x6c79_6765_6e65_7261
        v3 = k1 ^ 0x7465_6462_7974_6573
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// One SipRound (paper §2).
    @inline(__always) private mutating func round() {
        v0 &+= v1
        v1 = Self.rotl(v1, 13)
        v1 ^= v0
        v0 = Self.rotl(v0, 32)
        v2 &+= v3
        v3 = Self.rotl(v3, 16)
        v3 ^= v2
        v0 &+= v3
        v3 = Self.rotl(v3, 21)
        v3 ^= v0
        v2 &+= v1
        v1 = Self.rotl(v1, 17)
        v1 ^= v2
        v2 = Self.rotl(v2, 32)
    }

    /// Compression of one message word: c = 2 rounds.
    @inline(__always) private mutating func compress(_ m: UInt64) {
        v3 ^= m
        round()
        round()
        v0 ^= m
    }

    /// Appends the low `byteCount` (1…8) bytes of `value`, little-endian.
    @inline(__always) private mutating func appendLittleEndian(_ value: UInt64, byteCount: Int) {
        length &+= UInt64(byteCount)
        // Smart shifts: a shift by 64 or more gives 0 rather than trapping.
        tail |= value << UInt64(8 * tailCount)
        let filled = tailCount + byteCount
        if filled >= 8 {
            compress(tail)
            tail = value >> UInt64(8 * (8 - tailCount))
            tailCount = filled - 8
        } else {
            tailCount = filled
        }
    }

    /// Appends `v` as eight little-endian bytes.
    mutating func append(_ v: UInt64) { appendLittleEndian(v, byteCount: 8) }
    /// Appends `v` as four little-endian bytes.
    mutating func append(_ v: UInt32) { appendLittleEndian(UInt64(v), byteCount: 4) }
    /// Appends `v` as two little-endian bytes.
    mutating func append(_ v: UInt16) { appendLittleEndian(UInt64(v), byteCount: 2) }
    /// Appends one byte.
    mutating func append(_ v: UInt8) { appendLittleEndian(UInt64(v), byteCount: 1) }

    /// Appends raw bytes.
    mutating func append(bytes: UnsafeRawBufferPointer) {
        var i = 0
        let n = bytes.count
        // Top up a partial word a byte at a time (at most 7 bytes).
        while tailCount != 0 && i < n {
            appendLittleEndian(UInt64(bytes[i]), byteCount: 1)
            i += 1
        }
        // Whole words straight from memory.
        while n - i >= 8 {
            let m = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            compress(m)
            length &+= 8
            i += 8
        }
        while i < n {
            appendLittleEndian(UInt64(bytes[i]), byteCount: 1)
            i += 1
        }
    }

    /// The 64-bit hash of everything appended: the final block carries the length mod 256 in its
    /// top byte, then d = 4 finalization rounds (paper §2).
    mutating func finalize() -> UInt64 {
        let b = (length & 0xff) << 56 | tail
        compress(b)
        v2 ^= 0xff
        round()
        round()
        round()
        round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}
