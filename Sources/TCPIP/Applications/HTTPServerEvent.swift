import TCPIPCore

/// A step of the HTTP server worth a trace line (`tcpip serve --trace`): every limit that
/// strikes.
public enum HTTPServerEvent: Sendable, CustomStringConvertible {
    /// A request head passed `limit` bytes: 431, then close.
    case headTooLarge(port: UInt16, fd: Int32, limit: Int)
    /// A request head was not complete `after` nanoseconds from its first byte: 408, then close.
    case headerTimeout(port: UInt16, fd: Int32, received: Int, after: Int64)
    /// A connection made no progress for `after` nanoseconds: closed.
    case idleTimeout(port: UInt16, fd: Int32, after: Int64)
    /// A request head was malformed: 400, then close.
    case badRequest(port: UInt16, fd: Int32, reason: String)

    public var description: String {
        switch self {
        case .headTooLarge(let port, let fd, let limit):
            return "http :\(port) socket \(fd): request head larger than \(limit) bytes: 431, closing"
        case .headerTimeout(let port, let fd, let received, let after):
            return "http :\(port) socket \(fd): request head incomplete after \(Self.seconds(after)) "
                + "(\(received) bytes): 408, closing"
        case .idleTimeout(let port, let fd, let after):
            return "http :\(port) socket \(fd): no progress for \(Self.seconds(after)): closing"
        case .badRequest(let port, let fd, let reason):
            return "http :\(port) socket \(fd): bad request (\(reason)): 400, closing"
        }
    }

    static func seconds(_ ns: Int64) -> String { Instant(nanoseconds: ns).description }
}
