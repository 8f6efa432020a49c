extension Stack {
    /// RECEIVE (RFC 9293 §3.10.3): buffered bytes first, then the end: EOF after the peer's
    /// FIN, or (once) the reset. Reading may open the window and send a window update.
    public mutating func receive(
        _ fd: Int32,
        max: Int,
        into effects: inout Effects
    ) -> Result<(bytes: [UInt8], eof: Bool), Errno> {
        var out: [UInt8] = []
        return tcpReceive(
            fd,
            max: max,
            effects: &effects,
            datagram: { d in
                out = d
                return d.count
            },
            take: { rb, n in
                out = [UInt8](repeating: 0, count: n)
                return out.withUnsafeMutableBytes { rb.read(into: $0) }
            }
        ).map { (out, $0.eof) }
    }

    /// RECEIVE into the caller's memory: as `receive(_:max:into:)` with `max` = `buffer.count`,
    /// but copying into `buffer` instead of allocating an array per read. Returns how many
    /// bytes were copied, and `eof` true (with 0 bytes) once the peer's FIN has been read.
    public mutating func receive(
        _ fd: Int32,
        to buffer: UnsafeMutableRawBufferPointer,
        into effects: inout Effects
    ) -> Result<(count: Int, eof: Bool), Errno> {
        tcpReceive(
            fd,
            max: buffer.count,
            effects: &effects,
            datagram: { d in
                let n = Swift.min(d.count, buffer.count)
                if n > 0, let dst = buffer.baseAddress {
                    d.withUnsafeBytes { dst.copyMemory(from: $0.baseAddress!, byteCount: n) }
                }
                return n
            },
            take: { rb, n in rb.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])) }
        )
    }

    /// RECEIVE that drops up to `max` bytes without copying them (as Linux's `recv` with
    /// `MSG_TRUNC` on a TCP socket): for discard sinks. Same results as `receive(_:max:into:)`
    /// but the count of bytes consumed instead of the bytes.
    public mutating func receive(
        _ fd: Int32,
        discardingUpTo max: Int,
        into effects: inout Effects
    ) -> Result<(count: Int, eof: Bool), Errno> {
        tcpReceive(
            fd,
            max: max,
            effects: &effects,
            datagram: { Swift.min($0.count, Swift.max(0, max)) },
            take: { rb, n in
                rb.discard(n)
                return n
            }
        )
    }

    /// The body of RECEIVE (RFC 9293 §3.10.3) shared by the non-allocating variants; the same
    /// rules as `receive(_:max:into:)`, with `take` consuming `n` ≤ readable bytes.
    mutating func tcpReceive(
        _ fd: Int32,
        max: Int,
        effects: inout Effects,
        datagram: ([UInt8]) -> Int,
        take: (inout ReceiveBuffer, Int) -> Int
    ) -> Result<(count: Int, eof: Bool), Errno> {
        guard let s = sockets[fd] else { return .failure(.EBADF) }
        guard s.type == .stream else {
            return receiveFrom(fd, max: max).map { (datagram($0.bytes), false) }
        }
        if tcp.endpoints[fd]?.connection == nil {
            return .failure(s.pendingError ?? .ENOTCONN)
        }
        return withConnection(fd, effects: &effects) { stack, c, effects in
            let readable = c.receiveBuffer.readable
            if readable > 0 {
                guard max > 0 else { return .success((0, false)) }
                let n = take(&c.receiveBuffer, Swift.min(max, readable))
                stack.tcpWindowUpdate(&c, effects: &effects)
                return .success((n, false))
            }
            if let e = c.resetError, !c.resetReported {
                c.resetReported = true
                c.pendingError = nil
                return .failure(e)
            }
            if c.finReceived || c.state == .closed || c.readShut { return .success((0, max > 0)) }
            return .failure(.EAGAIN)
        }
    }

    /// Sends a window update when reading opened the window by a useful amount (RFC 9293
    /// §3.8.6.2.2; RFC 1122 §4.2.3.3).
    mutating func tcpWindowUpdate(_ c: inout TCPConnection, effects: inout Effects) {
        guard c.state.isSynchronized, c.state != .timeWait else { return }
        let offered = Swift.max(0, c.rcvAdvertised - c.rcvNxt)
        // Only what the window field can carry counts: without window scaling a buffer above
        // 64 KiB never shows in the window (RFC 7323 §2.2), so reading from it opens nothing.
        let available = Swift.min(c.receiveWindow, 65535 << c.rcvWindowShift)
        let step = Swift.min(c.receiveBuffer.capacity / 2, 2 * c.advertisedMSS)
        if available - offered >= step {
            c.ackNow = true
            trace(.tcpWindowUpdate(local: c.tuple.localPort, window: available))
            tcpOutput(&c, effects: &effects)
        }
    }
}
