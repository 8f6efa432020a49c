import Glibc

extension Syscall {
    /// `socket(AF_UNIX, SOCK_STREAM)` + `connect` to `path`, blocking and close-on-exec.
    static func unixConnect(path: String) throws(SyscallError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else { throw SyscallError(code: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        if fd < 0 { throw .current }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        while true {
            let r = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
            }
            if r == 0 { return fd }
            if errno == EINTR { continue }
            let error = SyscallError.current
            close(fd)
            throw error
        }
    }
}

extension UnixStreamConnection {
    /// Connects to the Unix stream socket at `path` (the client side, e.g. of the control
    /// protocol). Fails when nothing listens there (`ECONNREFUSED`, `ENOENT`) or the path is too
    /// long for `sun_path`.
    public static func connect(path: String) throws(DriverError) -> UnixStreamConnection {
        do {
            return UnixStreamConnection(fd: try Syscall.unixConnect(path: path))
        } catch {
            let hint: String? =
                switch error.code {
                case ENOENT, ECONNREFUSED: "is `tcpip serve --control \(path)` running?"
                case ENAMETOOLONG: "a Unix socket path holds at most 107 bytes"
                default: nil
                }
            throw DriverError(device: path, operation: "cannot connect to Unix socket", code: error.code, hint: hint)
        }
    }
}
