/// Something a socket call's waiter may care about: the runtime wakes blocked calls on these.
public enum SocketEvent: Sendable, Equatable {
    /// The socket's readiness may have changed (readable, writable, error, hang-up). It names
    /// the socket by identity: an event about a socket closed since matches no open socket,
    /// even one that reuses its descriptor.
    case changed(SocketID)
    /// An echo reply arrived for a ping the stack sent.
    case echoReply(EchoReply)
    /// A ping could not be sent or was answered with an ICMP error.
    case echoFailed(identifier: UInt16, sequence: UInt16, error: Errno)
}

extension SocketEvent {
    /// The descriptor of the socket a `changed` event is about; nil for other events.
    public var descriptor: Int32? {
        if case .changed(let id) = self { return id.descriptor }
        return nil
    }
}
