/// Counters a service keeps beside the stack's own — the control server's, the HTTP
/// server's — in the shape of one `stats` layer: counters, and drops keyed by reason.
public struct ServiceStatistics: Sendable {
    /// The section's name in `stats`: `"control"`, `"http"`.
    public var section: String
    /// The counters as (name, value) pairs, in a fixed order.
    public var counters: [(name: String, value: UInt64)]
    /// The drops as (reason, count) pairs, in a fixed order.
    public var drops: [(reason: String, count: UInt64)]

    /// A section of `stats`.
    public init(section: String, counters: [(name: String, value: UInt64)], drops: [(reason: String, count: UInt64)]) {
        self.section = section
        self.counters = counters
        self.drops = drops
    }

    /// A counter's value; nil for a name it does not have.
    public func counter(_ name: String) -> UInt64? { counters.first { $0.name == name }?.value }

    /// A drop reason's count; nil for a reason it does not have.
    public func drop(_ reason: String) -> UInt64? { drops.first { $0.reason == reason }?.count }

    /// The sums of two sections of the same shape (two HTTP servers on one host).
    func adding(_ other: ServiceStatistics) -> ServiceStatistics {
        var sum = self
        for (i, c) in sum.counters.enumerated() { sum.counters[i].value = c.value &+ (other.counter(c.name) ?? 0) }
        for (i, d) in sum.drops.enumerated() { sum.drops[i].count = d.count &+ (other.drop(d.reason) ?? 0) }
        return sum
    }
}

/// An application on the owner thread whose counters `stats` reports as a section of their
/// own (read on the owner thread).
public protocol StatisticsReporting: AnyObject {
    /// The application's counters now.
    var statistics: ServiceStatistics { get }
}

extension Host {
    /// The sections of the applications that report statistics, those of the same name summed,
    /// in the order of their first application. Owner thread (inside `perform`) only.
    func applicationStatistics() -> [ServiceStatistics] {
        var sections: [ServiceStatistics] = []
        for case let app as any StatisticsReporting in applications {
            let s = app.statistics
            if let i = sections.firstIndex(where: { $0.section == s.section }) {
                sections[i] = sections[i].adding(s)
            } else {
                sections.append(s)
            }
        }
        return sections
    }
}
