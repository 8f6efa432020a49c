/// The descriptor table: descriptors are small integers starting at 3, the lowest free one
/// first, as POSIX hands them out.
struct SocketTable {
    /// Slot `i` holds descriptor `i + 3`.
    var slots: [Socket?] = []
    /// The generation of each slot: bumped whenever a socket takes it.
    var generations: [UInt32] = []
    var count = 0
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// The first descriptor handed out.
    static let firstDescriptor: Int32 = 3

    /// Stores a socket under the lowest free descriptor; nil when the table is full.
    mutating func insert(_ socket: Socket) -> Int32? {
        let i: Int
        if let free = slots.firstIndex(where: { $0 == nil }) {
            i = free
            slots[i] = socket
        } else {
            guard slots.count < limit else { return nil }
            i = slots.count
            slots.append(socket)
        }
        if generations.count <= i { generations.append(contentsOf: repeatElement(0, count: i + 1 - generations.count)) }
        generations[i] &+= 1
        count += 1
        return Int32(i) + Self.firstDescriptor
    }

    /// The identity of the socket open under `fd`; nil when `fd` is not open.
    func id(of fd: Int32) -> SocketID? {
        let i = Int(fd) - Int(Self.firstDescriptor)
        guard i >= 0 && i < slots.count, slots[i] != nil else { return nil }
        return SocketID(descriptor: fd, generation: generations[i])
    }

    /// True when `id` names a socket that is still open (not one that reuses its descriptor).
    func isOpen(_ id: SocketID) -> Bool {
        let i = Int(id.descriptor) - Int(Self.firstDescriptor)
        return i >= 0 && i < slots.count && slots[i] != nil && generations[i] == id.generation
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

/// One socket: its type, its options and its pending error. Its protocol state is its
/// transport's (`UDPLayer`, `TCPTable.endpoints`), found by the same descriptor.
struct Socket {
    var type: SocketType
    var options: SocketOptions
    /// The pending error (`SO_ERROR`), reported once by the next call that can fail.
    var pendingError: Errno?
}
