/// What one call into the stack produced: frames to send and socket events. Reuse one value
/// across calls (drivers drain it), so that steady-state operation allocates nothing.
public struct Effects: Sendable {
    /// Frames to transmit.
    public var frames = FrameQueue()
    /// Socket events, in order.
    public var events: [SocketEvent] = []

    /// Empty effects.
    public init() {}

    /// Forgets frames and events, keeping storage.
    public mutating func removeAll() {
        frames.removeAll()
        events.removeAll(keepingCapacity: true)
    }
}
