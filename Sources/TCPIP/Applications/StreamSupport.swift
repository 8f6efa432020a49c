import TCPIPCore

/// Helpers shared by the stream applications (all on the host's owner thread).
enum StreamSupport {
    /// Opens a listening stream socket on `address:port`. Fails with the socket call's errno
    /// (`EADDRINUSE` when the port already has a listener), the message naming `service` and
    /// the port.
    static func listen(
        stack: inout Stack,
        effects: inout Effects,
        address: IPv4Address,
        port: UInt16,
        backlog: Int,
        service: String
    ) throws(Errno) -> Int32 {
        let fd: Int32
        switch stack.socket(.stream) {
        case .success(let f): fd = f
        case .failure(let e): throw e.with("\(service) on port \(port): \(e.message)")
        }
        var result = stack.bind(fd, address: address, port: port)
        if case .success = result { result = stack.listen(fd, backlog: backlog) }
        if case .failure(let e) = result {
            _ = stack.close(fd, into: &effects)
            throw e.with("\(service) on port \(port): \(e.message)")
        }
        return fd
    }

    /// Free room in the send buffer of stream socket `fd` (SO_SNDBUF minus the bytes queued);
    /// 0 when unknown.
    static func sendSpace(stack: Stack, fd: Int32) -> Int {
        guard case .success(let size?) = stack.option(fd, .soSndBuf),
            case .success(let info?) = stack.tcpInfo(fd)
        else { return 0 }
        return max(0, size - info.sendQueue)
    }

    /// The size of the send buffer of `fd` (SO_SNDBUF); 0 when unknown.
    static func sendBufferSize(stack: Stack, fd: Int32) -> Int {
        guard case .success(let size?) = stack.option(fd, .soSndBuf) else { return 0 }
        return size
    }
}

/// A fixed scratch buffer owned by one application, reused for every read and write so the
/// data path allocates nothing.
final class ScratchBuffer {
    let bytes: UnsafeMutableRawBufferPointer

    init(size: Int) {
        bytes = .allocate(byteCount: size, alignment: 16)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { bytes.deallocate() }

    var count: Int { bytes.count }

    /// The first `n` bytes.
    func prefix(_ n: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: bytes[0..<min(max(0, n), bytes.count)])
    }
}
