import DequeModule

/// A received datagram waiting in a socket's queue.
public struct ReceivedDatagram: Sendable, Equatable {
    /// The sender's address.
    public var address: IPv4Address
    /// The sender's port.
    public var port: UInt16
    /// The payload.
    public var bytes: [UInt8]
}

/// A datagram socket's endpoint: its binding, default peer and receive queue (RFC 768).
struct UDPSocketState {
    var localAddress: IPv4Address = .any
    /// 0 while unbound.
    var localPort: UInt16 = 0
    /// The default peer set by `connect`.
    var remoteAddress: IPv4Address?
    var remotePort: UInt16 = 0
    var queue = Deque<ReceivedDatagram>()
    var queuedBytes = 0
    var readShut = false
    var writeShut = false
    /// SO_REUSEADDR, as the socket set it (the bind rule looks at both sockets' flags).
    var reuseAddress = false
    /// SO_RCVBUF: the receive queue's bound in payload bytes.
    var receiveBuffer: Int

    var isConnected: Bool { remoteAddress != nil }

    init(receiveBuffer: Int) { self.receiveBuffer = receiveBuffer }
}
