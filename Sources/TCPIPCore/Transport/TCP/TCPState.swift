/// The connection states of RFC 9293 §3.3.2, with the RFC's names.
public enum TCPState: Int, Sendable, CaseIterable, CustomStringConvertible {
    case closed, listen, synSent, synReceived, established, finWait1, finWait2, closeWait, closing, lastAck, timeWait

    /// The RFC's name, e.g. `"SYN-SENT"`.
    public var name: String {
        switch self {
        case .closed: return "CLOSED"
        case .listen: return "LISTEN"
        case .synSent: return "SYN-SENT"
        case .synReceived: return "SYN-RECEIVED"
        case .established: return "ESTABLISHED"
        case .finWait1: return "FIN-WAIT-1"
        case .finWait2: return "FIN-WAIT-2"
        case .closeWait: return "CLOSE-WAIT"
        case .closing: return "CLOSING"
        case .lastAck: return "LAST-ACK"
        case .timeWait: return "TIME-WAIT"
        }
    }

    public var description: String { name }

    /// True once the handshake completed: SYNs have been exchanged both ways (RFC 9293 §3.3.2).
    public var isSynchronized: Bool { rawValue >= TCPState.established.rawValue }

    /// True in the states in which data may still arrive (RFC 9293 §3.10.7.4 "seventh").
    public var receivesData: Bool { self == .established || self == .finWait1 || self == .finWait2 }
}
