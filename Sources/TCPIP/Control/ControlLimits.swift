/// The bounds a control server keeps against clients that misbehave (CONTROL-PROTOCOL.md,
/// "Limits"): each is counted in `stats` (section `control`) when it strikes.
public struct ControlLimits: Sendable, Equatable {
    /// The longest request line, in bytes, newline excluded. A longer line is answered with
    /// one `EMSGSIZE` and discarded up to its newline, without being held in memory; the
    /// connection stays usable (`drops.line_too_long`). Default 1 MiB.
    public var maxLineBytes: Int
    /// How many reply bytes the server holds for a client beyond what its socket buffer took.
    /// A client that sends requests without reading their replies is hung up on once they pass
    /// this (`drops.slow_reader`). A reply is never split: one that alone passes the cap still
    /// goes whole to a client that has read everything before it. Default 4 MiB.
    public var maxQueuedBytes: Int
    /// How many clients may be connected at once. One more gets a single `EUSERS` line and is
    /// hung up on (`drops.too_many_clients`). Default 1024.
    public var maxClients: Int

    /// The defaults: 1 MiB lines, 4 MiB of unread replies, 1024 clients.
    public init(maxLineBytes: Int = 1 << 20, maxQueuedBytes: Int = 4 << 20, maxClients: Int = 1024) {
        self.maxLineBytes = max(1, maxLineBytes)
        self.maxQueuedBytes = max(0, maxQueuedBytes)
        self.maxClients = max(1, maxClients)
    }
}
