/// A socket's type.
public enum SocketType: String, Sendable {
    /// A byte stream (TCP).
    case stream
    /// Datagrams (UDP).
    case dgram
}
