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
