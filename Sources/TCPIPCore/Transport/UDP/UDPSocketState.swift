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

/// A datagram socket's state: its binding, default peer and receive queue (RFC 768).
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

    var isConnected: Bool { remoteAddress != nil }
}

/// Which sockets are bound to each UDP port.
struct UDPBindings {
    var ports: [UInt16: [Int32]] = [:]

    mutating func add(_ fd: Int32, port: UInt16) { ports[port, default: []].append(fd) }

    mutating func remove(_ fd: Int32, port: UInt16) {
        guard var list = ports[port] else { return }
        list.removeAll { $0 == fd }
        ports[port] = list.isEmpty ? nil : list
    }
}
