/// Initial sequence numbers per RFC 6528 §3:
///
///     ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
///
/// where M is a timer that ticks every 4 microseconds (RFC 9293 §3.4.1's ISN clock; 250 000 per
/// second, wrapping about every 4.77 hours) and F is a keyed PRF, here SipHash-2-4 truncated to
/// its low 32 bits. The key is an input (the core never asks the system for entropy): a driver
/// draws it from the OS, a test fixes it.
///
/// Each 4-tuple gets its own offset into the sequence space, so an off-path attacker cannot
/// predict one connection's ISN from another's (RFC 6528 §1), while the timer keeps ISNs of
/// successive incarnations of the same 4-tuple increasing (RFC 9293 §3.4.1).
struct InitialSequenceNumberGenerator {
    /// The secret key (RFC 6528 §3: "secretkey"), as two little-endian 64-bit halves.
    let k0: UInt64
    let k1: UInt64

    init(k0: UInt64, k1: UInt64) {
        self.k0 = k0
        self.k1 = k1
    }

    /// The ISN for a connection on this 4-tuple started at `now`.
    func generate(
        localAddress: IPv4Address,
        localPort: UInt16,
        remoteAddress: IPv4Address,
        remotePort: UInt16,
        now: Instant
    ) -> SequenceNumber {
        // M: the 4-microsecond timer (RFC 6528 §3), truncated to 32 bits.
        let m = UInt32(truncatingIfNeeded: now.nanoseconds / 4000)
        // F: SipHash-2-4 of the connection-id (RFC 6528 §3).
        var h = SipHash24(k0: k0, k1: k1)
        h.append(localAddress.rawValue)
        h.append(localPort)
        h.append(remoteAddress.rawValue)
        h.append(remotePort)
        let f = UInt32(truncatingIfNeeded: h.finalize())
        return SequenceNumber(m &+ f)
    }
}
