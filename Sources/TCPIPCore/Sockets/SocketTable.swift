/// The descriptor table: descriptors are small integers starting at 3, the lowest free one
/// first, as POSIX hands them out.
struct SocketTable {
    /// Slot `i` holds descriptor `i + 3`.
    var slots: [Socket?] = []
    var count = 0
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// The first descriptor handed out.
    static let firstDescriptor: Int32 = 3

    /// Stores a socket under the lowest free descriptor; nil when the table is full.
    mutating func insert(_ socket: Socket) -> Int32? {
        if let i = slots.firstIndex(where: { $0 == nil }) {
            slots[i] = socket
            count += 1
            return Int32(i) + Self.firstDescriptor
        }
        guard slots.count < limit else { return nil }
        slots.append(socket)
        count += 1
        return Int32(slots.count - 1) + Self.firstDescriptor
    }

    /// True when `fd` names an open socket.
    func contains(_ fd: Int32) -> Bool {
        let i = Int(fd) - Int(Self.firstDescriptor)
        return i >= 0 && i < slots.count && slots[i] != nil
    }

    subscript(_ fd: Int32) -> Socket? {
        get {
            let i = Int(fd) - Int(Self.firstDescriptor)
            guard i >= 0 && i < slots.count else { return nil }
            return slots[i]
        }
        set {
            let i = Int(fd) - Int(Self.firstDescriptor)
            guard i >= 0 && i < slots.count else { return }
            if slots[i] != nil && newValue == nil { count -= 1 }
            slots[i] = newValue
            while let last = slots.last, last == nil { slots.removeLast() }
        }
    }

    /// Runs `body` on the socket of `fd` in place, so that its queues are not copied (a copy
    /// out and back would duplicate them on every change); nil when `fd` is not open.
    mutating func modify<R>(_ fd: Int32, _ body: (inout Socket) -> R) -> R? {
        let i = Int(fd) - Int(Self.firstDescriptor)
        guard i >= 0 && i < slots.count, slots[i] != nil else { return nil }
        return body(&slots[i]!)
    }

    /// Every open descriptor in increasing order.
    var descriptors: [Int32] {
        slots.indices.compactMap { slots[$0] == nil ? nil : Int32($0) + Self.firstDescriptor }
    }
}

/// One socket: its type, options and protocol state.
struct Socket {
    var type: SocketType
    var options: SocketOptions
    /// The pending error (`SO_ERROR`), reported once by the next call that can fail.
    var pendingError: Errno?
    /// Datagram state (UDP sockets).
    var udp = UDPSocketState()
    /// Stream state (TCP sockets).
    var tcp = TCPSocketState()
}
