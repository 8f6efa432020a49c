import TCPIPDrivers

/// The reply bytes a control client has not taken yet, beyond what its socket buffer holds:
/// written without waiting whenever the socket has room, so a client that does not read
/// holds up only itself, and counted, so that it can be hung up on once they pass the limit.
struct ControlReplyQueue {
    private var bytes: [UInt8] = []
    private var start = 0

    /// Bytes queued and not yet handed to the socket.
    var count: Int { bytes.count - start }
    var isEmpty: Bool { start == bytes.count }

    /// Queues one reply line (its newline added).
    mutating func append(_ line: String) {
        bytes.append(contentsOf: line.utf8)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Hands the socket as much as it takes now; fails when the client has gone.
    mutating func send(to socket: UnixStreamConnection) throws(DriverError) {
        while !isEmpty {
            let from = start
            let n = try bytes.withUnsafeBytes { all -> Result<Int, DriverError> in
                do throws(DriverError) {
                    return .success(try socket.sendAvailable(UnsafeRawBufferPointer(rebasing: all[from...])))
                } catch {
                    return .failure(error)
                }
            }.get()
            if n == 0 { break }
            start += n
        }
        if isEmpty {
            // Keep a small buffer for the next replies; give a large one back.
            bytes.removeAll(keepingCapacity: bytes.count <= 64 * 1024)
            start = 0
        } else if start >= 64 * 1024 && start >= count {
            bytes.removeSubrange(..<start)
            start = 0
        }
    }
}
