/// UDP (RFC 768, RFC 1122 §4.1): every datagram socket's endpoint — its binding, default peer
/// and receive queue — and the ports they hold. The socket table names an endpoint by its
/// descriptor; the layer knows nothing else of sockets, and no other layer touches its state.
struct UDPLayer {
    /// Each datagram socket's endpoint, by descriptor.
    private(set) var endpoints: [Int32: UDPSocketState] = [:]
    /// The endpoints bound to each port, in binding order.
    private(set) var ports: [UInt16: [Int32]] = [:]

    /// Bytes of receive buffer per queued datagram allowed (the bound on empty datagrams).
    static let datagramOverhead = 64

    /// The endpoint of datagram socket `fd`.
    subscript(_ fd: Int32) -> UDPSocketState? { endpoints[fd] }

    /// Makes the endpoint of a new datagram socket.
    mutating func open(_ fd: Int32, receiveBuffer: Int) { endpoints[fd] = UDPSocketState(receiveBuffer: receiveBuffer) }

    /// Forgets the endpoint of a closed socket and frees its port.
    mutating func close(_ fd: Int32) {
        guard let e = endpoints.removeValue(forKey: fd), e.localPort != 0 else { return }
        unbindPort(fd, port: e.localPort)
    }

    /// Runs `body` on the endpoint in place (its queue is not copied); nil when there is none.
    @discardableResult
    mutating func modify<R>(_ fd: Int32, _ body: (inout UDPSocketState) -> R) -> R? {
        guard endpoints[fd] != nil else { return nil }
        return body(&endpoints[fd]!)
    }

    /// True when no endpoint holds `port`.
    func isFree(_ port: UInt16) -> Bool { ports[port] == nil }

    /// True when binding `address:port` with `reuse` (SO_REUSEADDR) collides with an endpoint
    /// already bound there: overlapping addresses, unless both set SO_REUSEADDR (Linux's rule).
    func conflicts(address: IPv4Address, port: UInt16, reuse: Bool) -> Bool {
        for other in ports[port] ?? [] {
            guard let o = endpoints[other] else { continue }
            let overlap = o.localAddress == .any || address == .any || o.localAddress == address
            if overlap && !(o.reuseAddress && reuse) { return true }
        }
        return false
    }

    /// Binds the endpoint of `fd` to `address:port`.
    mutating func bind(_ fd: Int32, address: IPv4Address, port: UInt16) {
        guard endpoints[fd] != nil else { return }
        endpoints[fd]!.localAddress = address
        endpoints[fd]!.localPort = port
        ports[port, default: []].append(fd)
    }

    private mutating func unbindPort(_ fd: Int32, port: UInt16) {
        guard var list = ports[port] else { return }
        list.removeAll { $0 == fd }
        ports[port] = list.isEmpty ? nil : list
    }

    /// The endpoint that takes a datagram: a connected one matching the peer beats one bound
    /// to the specific address, which beats one bound to the wildcard.
    func lookup(
        localAddress: IPv4Address,
        localPort: UInt16,
        remoteAddress: IPv4Address,
        remotePort: UInt16,
        broadcast: Bool
    ) -> Int32? {
        guard let fds = ports[localPort] else { return nil }
        var best: Int32?
        var bestScore = -1
        for fd in fds {
            guard let e = endpoints[fd] else { continue }
            var score = 0
            if e.localAddress != .any {
                guard e.localAddress == localAddress || broadcast else { continue }
                score += 1
            }
            if let ra = e.remoteAddress {
                guard ra == remoteAddress && e.remotePort == remotePort else { continue }
                score += 2
            }
            if score > bestScore {
                best = fd
                bestScore = score
            }
        }
        return best
    }

    /// The connected endpoint that sent a datagram an ICMP error quotes (RFC 1122 §4.1.3.3).
    func connectedEndpoint(
        localAddress: IPv4Address,
        localPort: UInt16,
        remoteAddress: IPv4Address,
        remotePort: UInt16
    ) -> Int32? {
        for fd in ports[localPort] ?? [] {
            guard let e = endpoints[fd], e.remoteAddress == remoteAddress, e.remotePort == remotePort,
                e.localAddress == .any || e.localAddress == localAddress
            else { continue }
            return fd
        }
        return nil
    }

    /// Queues a received datagram on the endpoint of `fd`, within SO_RCVBUF in payload bytes
    /// and one datagram per 64 bytes of it (so a flood of empty datagrams is bounded too).
    /// False when the queue is full or the endpoint is shut for reading.
    mutating func enqueue(_ fd: Int32, _ datagram: ReceivedDatagram) -> Bool {
        modify(fd) { e in
            guard !e.readShut, e.queuedBytes + datagram.bytes.count <= e.receiveBuffer,
                e.queue.count < max(16, e.receiveBuffer / Self.datagramOverhead)
            else { return false }
            e.queue.append(datagram)
            e.queuedBytes += datagram.bytes.count
            return true
        } ?? false
    }

    /// Takes the next queued datagram of `fd`.
    mutating func dequeue(_ fd: Int32) -> ReceivedDatagram? {
        modify(fd) { e in
            guard let d = e.queue.popFirst() else { return nil }
            e.queuedBytes -= d.bytes.count
            return d
        } ?? nil
    }
}
