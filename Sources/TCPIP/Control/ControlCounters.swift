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

/// A step of the control server worth a trace line (`tcpip serve --trace`): every limit that
/// strikes, and clients coming and going.
public enum ControlEvent: Sendable, CustomStringConvertible {
    /// Client `client` (numbered from 1 in order of arrival) connected.
    case clientConnected(client: Int)
    /// Client `client` hung up, or was hung up on when the server stopped.
    case clientClosed(client: Int)
    /// A client was refused: `limit` clients were connected already.
    case clientRefused(limit: Int)
    /// A request line passed `limit` bytes; it is discarded.
    case lineTooLong(client: Int, limit: Int)
    /// A line was not a JSON object.
    case badLine(client: Int, message: String)
    /// The client's unread replies passed `limit` bytes; it was hung up on.
    case slowReaderDropped(client: Int, queued: Int, limit: Int)

    public var description: String {
        switch self {
        case .clientConnected(let c): return "control: client \(c) connected"
        case .clientClosed(let c): return "control: client \(c) closed"
        case .clientRefused(let limit): return "control: client refused (EUSERS): \(limit) clients connected already"
        case .lineTooLong(let c, let limit):
            return "control: client \(c) line longer than \(limit) bytes refused (EMSGSIZE) and discarded"
        case .badLine(let c, let message): return "control: client \(c) bad line (EPROTO): \(message)"
        case .slowReaderDropped(let c, let queued, let limit):
            return "control: client \(c) dropped: \(queued) reply bytes unread, more than \(limit)"
        }
    }
}
