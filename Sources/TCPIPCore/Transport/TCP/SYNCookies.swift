/// SYN cookies (RFC 4987 §3.6): when a listener's SYN queue is full, the SYN,ACK's sequence
/// number carries what the listener would have remembered, and no state is kept. The final
/// ACK of the handshake returns it (SEG.ACK − 1); if it checks out, the connection is made
/// then.
///
/// The layout is Linux's (`net/ipv4/syncookies.c`, `secure_tcp_syn_cookie`):
///
///     cookie = H1(4-tuple) + SEG.SEQ(SYN) + (count << 24)
///            + ((H2(4-tuple, count) + mssIndex) mod 2^24)
///
/// `count` is a minute counter; H1 and H2 are SipHash-2-4 under a secret key. A cookie is
/// valid for `maximumAge` minutes. The secret rotates: each `rotationMinutes`-minute epoch
/// draws a new key, and the previous epoch's key is kept so that a cookie issued just before
/// a rotation still validates. Keys are drawn from the stack's random input the first time a
/// cookie is needed (a stack that never overflows draws nothing).
///
/// When the SYN carried timestamps, the low 6 bits of the SYN,ACK's TSval carry the options
/// a cookie cannot: the peer's window scale (4 bits, 0xF for none), SACK-permitted and ECN
/// (Linux's `cookie_init_timestamp`); the final ACK echoes them in TSecr.
struct SYNCookies {
    /// The MSS classes a cookie can name (Linux's `msstab` for IPv4).
    static let mssTable: [UInt16] = [536, 1300, 1440, 1460]
    /// How many minutes a cookie stays valid (Linux `MAX_SYNCOOKIE_AGE`).
    static let maximumAge: UInt32 = 2
    /// Minutes between key rotations.
    static let rotationMinutes: UInt32 = 64
    /// Low bits of the cookie that carry the MSS class and the second hash.
    static let cookieBits: UInt32 = 24
    static let cookieMask: UInt32 = (1 << cookieBits) - 1
    /// Low bits of TSval that carry the options.
    static let timestampBits: UInt32 = 6
    static let timestampMask: UInt32 = (1 << timestampBits) - 1
    static let noWindowScale: UInt32 = 0xF
    static let sackBit: UInt32 = 1 << 4
    static let ecnBit: UInt32 = 1 << 5

    /// A key and the epoch it belongs to.
    struct Key {
        var epoch: UInt32
        var k0: UInt64
        var k1: UInt64
    }

    private(set) var current: Key?
    private(set) var previous: Key?

    /// The minute counter at `now`.
    static func minute(_ now: Instant) -> UInt32 {
        UInt32(truncatingIfNeeded: now.nanoseconds / 60_000_000_000)
    }

    /// Brings the keys up to the epoch of `minute`, drawing new ones as needed.
    mutating func rotate(minute: UInt32, random: inout SeededRandom) {
        let epoch = minute / Self.rotationMinutes
        if let c = current, c.epoch == epoch { return }
        let fresh = Key(epoch: epoch, k0: random.next(), k1: random.next())
        if let c = current, c.epoch &+ 1 == epoch {
            previous = c
        } else {
            // A first key, or a gap of more than one epoch: nothing older can still be valid
            // except cookies of the epoch just before, whose key we never had.
            previous = nil
        }
        current = fresh
    }

    private static func hash(_ key: Key, _ tuple: TCPFourTuple, count: UInt32?) -> UInt32 {
        var h = SipHash24(k0: key.k0, k1: key.k1)
        h.append(tuple.localAddress.rawValue)
        h.append(tuple.localPort)
        h.append(tuple.remoteAddress.rawValue)
        h.append(tuple.remotePort)
        if let count {
            h.append(UInt8(2))
            h.append(count)
        } else {
            h.append(UInt8(1))
        }
        return UInt32(truncatingIfNeeded: h.finalize())
    }

    /// The MSS class for a peer's MSS: the largest class not above it.
    static func mssIndex(forPeerMSS mss: Int) -> UInt32 {
        var index: UInt32 = 0
        for (i, m) in mssTable.enumerated() where Int(m) <= mss { index = UInt32(i) }
        return index
    }

    /// The cookie (our ISS) for a SYN on `tuple` with sequence number `clientISN`. Call
    /// `rotate` first.
    func make(tuple: TCPFourTuple, clientISN: SequenceNumber, mssIndex: UInt32, minute: UInt32) -> SequenceNumber {
        let key = current!
        let h1 = Self.hash(key, tuple, count: nil)
        let h2 = Self.hash(key, tuple, count: minute)
        let value =
            h1 &+ clientISN.rawValue &+ (minute << Self.cookieBits)
            &+ ((h2 &+ mssIndex) & Self.cookieMask)
        return SequenceNumber(value)
    }

    /// The MSS class a returned cookie carries, or nil when it is forged, garbled or too old.
    func check(tuple: TCPFourTuple, clientISN: SequenceNumber, cookie: SequenceNumber, minute: UInt32) -> UInt32? {
        // H1 does not depend on the minute, but on the key of the cookie's epoch: try the
        // current key, then (for a cookie made before the rotation) the previous one.
        for key in [current, previous].compactMap({ $0 }) {
            let h1 = Self.hash(key, tuple, count: nil)
            let rest = cookie.rawValue &- h1 &- clientISN.rawValue
            let made = rest >> Self.cookieBits
            // The minute counter is 8 bits in the cookie: its age modulo 256.
            let age = (minute &- made) & (UInt32.max >> Self.cookieBits)
            guard age < Self.maximumAge else { continue }
            let count = minute &- age
            guard count / Self.rotationMinutes == key.epoch else { continue }
            let index = (rest &- Self.hash(key, tuple, count: count)) & Self.cookieMask
            if index < UInt32(Self.mssTable.count) { return index }
        }
        return nil
    }

    /// The TSval of a cookie SYN,ACK: the clock with its low bits replaced by the options,
    /// never ahead of the clock (Linux's `cookie_init_timestamp`).
    static func timestamp(clock: UInt32, windowScale: UInt8?, sack: Bool) -> UInt32 {
        var options = windowScale.map { UInt32(min($0, 14)) } ?? noWindowScale
        if sack { options |= sackBit }
        var ts = (clock & ~timestampMask) | options
        if Int32(bitPattern: ts &- clock) > 0 { ts &-= 1 << timestampBits }
        return ts
    }

    /// The options a cookie's TSecr carries back: the peer's window scale (nil when it did
    /// not offer it) and SACK-permitted; nil when the bits are impossible (Linux's
    /// `cookie_timestamp_decode`).
    static func options(fromEcho echo: UInt32) -> (windowScale: UInt8?, sack: Bool)? {
        let bits = echo & timestampMask
        let ws = bits & noWindowScale
        if ws != noWindowScale && ws > 14 { return nil }
        if bits & ecnBit != 0 { return nil }  // this stack never offers ECN
        return (ws == noWindowScale ? nil : UInt8(ws), bits & sackBit != 0)
    }
}
