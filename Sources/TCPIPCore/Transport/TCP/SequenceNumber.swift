/// A TCP sequence number: a 32-bit counter that wraps at 2^32.
///
/// RFC 9293 §3.4: "It is essential to remember that the actual sequence number space is finite,
/// though very large … all arithmetic dealing with sequence numbers must be performed modulo 2**32."
/// Every operation here wraps (`&+`, `&-`, `truncatingIfNeeded:`), so no value a peer sends can trap.
///
/// Ordering is RFC 1982 serial-number arithmetic (§3.2) as used by RFC 9293 §3.4: `a < b` when the
/// signed 32-bit distance `a - b` is negative, i.e. when `b` lies less than 2^31 ahead of `a`.
/// This order is not transitive over the whole circle, and two numbers exactly 2^31 apart each
/// compare less than the other (RFC 1982 leaves that case undefined); TCP never compares numbers
/// that far apart because windows are at most 2^30 (RFC 7323 §2.3).
public struct SequenceNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The 32-bit value as carried in the TCP header.
    public var rawValue: UInt32

    /// Creates a sequence number from its 32-bit value.
    @inlinable public init(_ raw: UInt32) { rawValue = raw }

    /// The sequence number `n` octets after `a`, modulo 2^32 (RFC 9293 §3.4). `n` may be negative.
    @inlinable public static func + (a: SequenceNumber, n: Int) -> SequenceNumber {
        SequenceNumber(a.rawValue &+ UInt32(truncatingIfNeeded: n))
    }

    /// The sequence number `n` octets before `a`, modulo 2^32 (RFC 9293 §3.4).
    @inlinable public static func - (a: SequenceNumber, n: Int) -> SequenceNumber {
        SequenceNumber(a.rawValue &- UInt32(truncatingIfNeeded: n))
    }

    /// Advances `a` by `n` octets, modulo 2^32.
    @inlinable public static func += (a: inout SequenceNumber, n: Int) { a = a + n }

    /// Moves `a` back by `n` octets, modulo 2^32.
    @inlinable public static func -= (a: inout SequenceNumber, n: Int) { a = a - n }

    /// The signed distance from `b` to `a` in −2^31 ..< 2^31 (RFC 1982 §3.2): positive when `a` is
    /// ahead of `b`. For example `SND.NXT - SND.UNA` is the number of octets in flight.
    @inlinable public static func - (a: SequenceNumber, b: SequenceNumber) -> Int {
        Int(Int32(bitPattern: a.rawValue &- b.rawValue))
    }

    /// `a` precedes `b` in modular order (RFC 9293 §3.4, RFC 1982 §3.2): `(a - b) < 0`.
    @inlinable public static func < (a: SequenceNumber, b: SequenceNumber) -> Bool { (a - b) < 0 }

    /// Whether `start ≤ self < start + length` modulo 2^32 — the acceptability tests of
    /// RFC 9293 §3.4 (e.g. `RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND`). Always false when `length ≤ 0`.
    @inlinable public func isInWindow(start: SequenceNumber, length: Int) -> Bool {
        guard length > 0 else { return false }
        // The unsigned offset from start, 0 ..< 2^32, is exact whichever side of the wrap we are on.
        return Int(rawValue &- start.rawValue) < length
    }

    /// The later of two sequence numbers in modular order.
    @inlinable public static func max(_ a: SequenceNumber, _ b: SequenceNumber) -> SequenceNumber { a < b ? b : a }

    /// The earlier of two sequence numbers in modular order.
    @inlinable public static func min(_ a: SequenceNumber, _ b: SequenceNumber) -> SequenceNumber { b < a ? b : a }

    /// The decimal value, as tcpdump prints absolute sequence numbers.
    public var description: String { String(rawValue) }
}
