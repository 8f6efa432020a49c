/// A point in time, in nanoseconds since an arbitrary origin chosen by whoever drives the stack.
///
/// The core never reads a clock: every event that needs the time is given an `Instant`.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the driver's origin.
    public var nanoseconds: Int64

    /// Creates an instant `nanoseconds` after the origin.
    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The origin.
    public static let zero = Instant(nanoseconds: 0)

    @inlinable public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    /// The instant `ns` nanoseconds later.
    @inlinable public func adding(nanoseconds ns: Int64) -> Instant { Instant(nanoseconds: nanoseconds &+ ns) }
    /// The instant `ms` milliseconds later.
    @inlinable public func adding(milliseconds ms: Int64) -> Instant { adding(nanoseconds: ms &* 1_000_000) }
    /// The instant `s` seconds later.
    @inlinable public func adding(seconds s: Int64) -> Instant { adding(nanoseconds: s &* 1_000_000_000) }

    /// Nanoseconds from `earlier` to `self` (negative when `earlier` is later).
    @inlinable public func nanoseconds(since earlier: Instant) -> Int64 { nanoseconds &- earlier.nanoseconds }

    /// Seconds since the origin, with millisecond precision, e.g. `1.250s`.
    public var description: String {
        let ms = nanoseconds / 1_000_000
        let frac = String(abs(ms % 1000))
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)s"
    }
}
