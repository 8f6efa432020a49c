import TCPIPCore

/// An in-memory Ethernet segment joining `endpoints` stacks, for deterministic tests and
/// simulations on a virtual clock.
///
/// A frame sent by one endpoint reaches every other endpoint (a shared segment: the stacks
/// filter by MAC address), each copy after `latency` and through the fault injector of its
/// own direction. Injectors are seeded from the wire's seed and the two endpoints' indexes,
/// and waiting frames are delivered in (due time, send order), so a run replays exactly from
/// its seed.
public struct MemoryWire: Sendable {
    /// The number of endpoints, numbered 0..<endpoints.
    public let endpoints: Int
    /// The one-way latency added to every delivery, in nanoseconds.
    public let latency: Int64
    /// Frames sent.
    public private(set) var sent = 0
    /// Deliveries handed to endpoints.
    public private(set) var delivered = 0

    /// One injector per direction, at `from * endpoints + to` (the diagonal is unused).
    private var injectors: [FaultInjector]
    private var queue = DeliveryQueue()

    /// Creates a segment; `faults` apply independently in each direction.
    public init(endpoints: Int = 2, faults: FaultConfiguration = .none, seed: UInt64, latency: Int64 = 0) {
        precondition(endpoints >= 1, "a wire needs at least one endpoint")
        precondition(latency >= 0, "latency must not be negative")
        self.endpoints = endpoints
        self.latency = latency
        var injectors: [FaultInjector] = []
        injectors.reserveCapacity(endpoints * endpoints)
        for from in 0..<endpoints {
            for to in 0..<endpoints {
                injectors.append(
                    FaultInjector(configuration: faults, seed: Self.directionSeed(seed, from: from, to: to))
                )
            }
        }
        self.injectors = injectors
    }

    /// The fault injector (with its counters) for frames from `from` to `to`.
    public func injector(from: Int, to: Int) -> FaultInjector {
        precondition(from != to && from >= 0 && from < endpoints && to >= 0 && to < endpoints)
        return injectors[from * endpoints + to]
    }

    /// Frames waiting to be delivered.
    public var pendingCount: Int { queue.count }

    /// When the next waiting frame is due, or `nil` if none is waiting.
    public var nextDelivery: Instant? { queue.earliestDue }

    /// Puts `frame` on the wire from `endpoint` at `now`; the bytes are copied.
    public mutating func send(from endpoint: Int, frame: UnsafeRawBufferPointer, now: Instant) {
        precondition(endpoint >= 0 && endpoint < endpoints, "no endpoint \(endpoint) on this wire")
        sent += 1
        let departure = now.adding(nanoseconds: latency)
        // Move the queue out so the injector and the queue can be mutated together.
        var queue = DeliveryQueue()
        swap(&queue, &self.queue)
        for to in 0..<endpoints where to != endpoint {
            injectors[endpoint * endpoints + to].apply(frame: frame, now: departure) { due, bytes in
                queue.push(due: due, endpoint: to, frame: bytes)
            }
        }
        swap(&queue, &self.queue)
    }

    /// Delivers every frame due at or before `now`, earliest first (send order among equal
    /// times), calling `body` with the receiving endpoint and the frame (valid only during the
    /// call). `body` must not use the wire: collect replies and `send` them afterwards.
    public mutating func deliverDue(now: Instant, _ body: (_ endpoint: Int, _ frame: UnsafeRawBufferPointer) -> Void) {
        while let entry = queue.popDue(now: now) {
            delivered += 1
            queue.consume(slot: entry.slot) { body(entry.endpoint, $0) }
        }
    }

    /// A seed for one direction, mixed from the wire's seed and the endpoint indexes.
    private static func directionSeed(_ seed: UInt64, from: Int, to: Int) -> UInt64 {
        var z = seed ^ (UInt64(from) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(to) &* 0xC2B2_AE3D_27D4_EB4F)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
