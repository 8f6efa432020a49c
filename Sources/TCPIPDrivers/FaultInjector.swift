import TCPIPCore

/// Decides, from a seeded generator, what happens to each frame on an imperfect link: lost,
/// duplicated, corrupted, delayed or reordered.
///
/// Deterministic: the same seed, configuration and sequence of frames give the same decisions.
/// For each frame, in order: loss (→ no delivery); duplication (→ two deliveries); then for
/// each delivery: corruption (one random bit flipped in a copy), delay (base + uniform jitter),
/// reordering (held back a further `reorderDelay`).
public struct FaultInjector: Sendable {
    /// What this injector does.
    public let configuration: FaultConfiguration
    /// Frames given to `apply`.
    public private(set) var frames = 0
    /// Frames lost.
    public private(set) var lost = 0
    /// Frames delivered twice.
    public private(set) var duplicated = 0
    /// Deliveries with a flipped bit.
    public private(set) var corrupted = 0
    /// Deliveries held back by `reorderDelay`.
    public private(set) var reordered = 0

    private let passthrough: Bool
    private var random: SeededRandom
    private var scratch: [UInt8] = []

    /// Creates an injector whose decisions are determined by `configuration` and `seed`.
    public init(configuration: FaultConfiguration, seed: UInt64) {
        self.configuration = configuration
        self.passthrough = configuration.isNone
        self.random = SeededRandom(seed: seed)
    }

    /// Decides the fate of `frame`, sent at `now`, and calls `emit` zero, one or two times
    /// with each delivery's due time and bytes (which may be a corrupted copy, valid only
    /// during the call). Deliveries are emitted in the order they were decided, not by due time.
    public mutating func apply(
        frame: UnsafeRawBufferPointer,
        now: Instant,
        emit: (Instant, UnsafeRawBufferPointer) -> Void
    ) {
        frames += 1
        if passthrough {
            emit(now, frame)
            return
        }
        if random.chance(configuration.loss) {
            lost += 1
            return
        }
        let copies: Int
        if random.chance(configuration.duplicate) {
            duplicated += 1
            copies = 2
        } else {
            copies = 1
        }
        for _ in 0..<copies {
            let corrupt = frame.count > 0 && random.chance(configuration.corrupt)
            var due = now.adding(nanoseconds: configuration.delay)
            if configuration.jitter > 0 {
                due = due.adding(nanoseconds: Int64(random.next(below: UInt64(configuration.jitter) + 1)))
            }
            if random.chance(configuration.reorder) {
                reordered += 1
                due = due.adding(nanoseconds: configuration.reorderDelay)
            }
            if corrupt {
                corrupted += 1
                let bit = Int(random.next(below: UInt64(frame.count) * 8))
                scratch.removeAll(keepingCapacity: true)
                scratch.append(contentsOf: frame)
                scratch[bit / 8] ^= UInt8(1) << (bit % 8)
                scratch.withUnsafeBytes { emit(due, $0) }
            } else {
                emit(due, frame)
            }
        }
    }
}
