import Synchronization

/// What a control server counts, from any of its threads: `stats` reports it as the section
/// `control` (CONTROL-PROTOCOL.md, "Limits").
final class ControlCounters: Sendable {
    /// Clients taken on (refused ones not included).
    let clientsAccepted = Atomic<UInt64>(0)
    /// Request lines answered, refused ones included.
    let requests = Atomic<UInt64>(0)
    /// Clients refused because `maxClients` were connected.
    let tooManyClients = Atomic<UInt64>(0)
    /// Lines longer than `maxLineBytes`, answered with `EMSGSIZE` and discarded.
    let linesTooLong = Atomic<UInt64>(0)
    /// Lines that were not a JSON object, answered with `EPROTO`.
    let badLines = Atomic<UInt64>(0)
    /// Clients hung up on because their unread replies passed `maxQueuedBytes`.
    let slowReaders = Atomic<UInt64>(0)

    /// Clients connected now.
    let connected = Atomic<Int>(0)

    /// The `stats` section.
    var statistics: ServiceStatistics {
        ServiceStatistics(
            section: "control",
            counters: [
                ("clients_accepted", clientsAccepted.load(ordering: .relaxed)),
                ("clients_connected", UInt64(max(0, connected.load(ordering: .relaxed)))),
                ("requests", requests.load(ordering: .relaxed)),
            ],
            drops: [
                ("too_many_clients", tooManyClients.load(ordering: .relaxed)),
                ("line_too_long", linesTooLong.load(ordering: .relaxed)),
                ("bad_line", badLines.load(ordering: .relaxed)),
                ("slow_reader", slowReaders.load(ordering: .relaxed)),
            ]
        )
    }
}
