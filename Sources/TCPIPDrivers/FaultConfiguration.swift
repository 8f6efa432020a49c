/// What a `FaultInjector` does to the frames passing through it: probabilities of loss,
/// duplication, reordering and corruption, and delays in nanoseconds.
public struct FaultConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// Probability (0…1) that a frame is lost.
    public var loss: Double
    /// Probability (0…1) that a frame that was not lost is delivered twice.
    public var duplicate: Double
    /// Probability (0…1) that a delivery is held back by `reorderDelay`, so later frames pass it.
    public var reorder: Double
    /// Probability (0…1) that a delivery has one random bit flipped, anywhere in the frame.
    public var corrupt: Double
    /// Base delay added to every delivery, in nanoseconds.
    public var delay: Int64
    /// Extra delay drawn uniformly from 0…`jitter` for every delivery, in nanoseconds.
    public var jitter: Int64
    /// How long a reordered delivery is held back beyond its normal due time, in nanoseconds.
    public var reorderDelay: Int64

    /// Creates a configuration; every fault defaults to off.
    public init(
        loss: Double = 0,
        duplicate: Double = 0,
        reorder: Double = 0,
        corrupt: Double = 0,
        delay: Int64 = 0,
        jitter: Int64 = 0,
        reorderDelay: Int64 = 0
    ) {
        for p in [loss, duplicate, reorder, corrupt] {
            precondition(p >= 0 && p <= 1, "fault probability \(p) is not in 0…1")
        }
        precondition(delay >= 0 && jitter >= 0 && reorderDelay >= 0, "fault delays must not be negative")
        self.loss = loss
        self.duplicate = duplicate
        self.reorder = reorder
        self.corrupt = corrupt
        self.delay = delay
        self.jitter = jitter
        self.reorderDelay = reorderDelay
    }

    /// A perfect link: nothing lost, duplicated, reordered, corrupted or delayed.
    public static let none = FaultConfiguration()

    /// True when the configuration does nothing to frames.
    public var isNone: Bool { self == .none }

    /// The faults that are on, e.g. `loss=1% reorder=5%/10ms delay=2ms`, or `none`.
    public var description: String {
        var parts: [String] = []
        func percent(_ p: Double) -> String {
            let hundredths = (p * 10_000).rounded()
            let whole = Int(hundredths) / 100
            let fraction = Int(hundredths) % 100
            return fraction == 0 ? "\(whole)%" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)%"
        }
        func duration(_ ns: Int64) -> String {
            if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
            if ns % 1000 == 0 { return "\(ns / 1000)us" }
            return "\(ns)ns"
        }
        if loss > 0 { parts.append("loss=\(percent(loss))") }
        if duplicate > 0 { parts.append("duplicate=\(percent(duplicate))") }
        if reorder > 0 { parts.append("reorder=\(percent(reorder))/\(duration(reorderDelay))") }
        if corrupt > 0 { parts.append("corrupt=\(percent(corrupt))") }
        if delay > 0 { parts.append("delay=\(duration(delay))") }
        if jitter > 0 { parts.append("jitter=\(duration(jitter))") }
        return parts.isEmpty ? "none" : parts.joined(separator: " ")
    }
}
