import CTunTap
import Glibc

/// A failed system call: the `errno` it left.
struct SyscallError: Error {
    /// The errno value.
    var code: Int32

    /// The error left in `errno` by the call that just failed.
    static var current: SyscallError { SyscallError(code: errno) }
}

/// Every system call the project makes, as thin typed wrappers.
///
/// Each wrapper retries on `EINTR` where that is safe and reports failure by throwing the
/// errno; the types built on it (`TAPDevice`, `EventFD`, `Poller`, `PcapWriter`, …) turn that
/// into a `DriverError` naming the device. Nothing else in the project calls the C library for
/// I/O, time or entropy.
enum Syscall {
    /// `open(2)`.
    static func open(_ path: String, flags: Int32, mode: mode_t = 0) throws(SyscallError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw .current }
        }
    }

    /// `close(2)`. Errors are ignored: the descriptor is gone either way on Linux.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// `read(2)`; `nil` on `EAGAIN`.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SyscallError) -> Int? {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN: return nil
            default: throw .current
            }
        }
    }

    /// `readv(2)` into two buffers (a header, then a frame); `nil` on `EAGAIN`.
    static func read(
        _ fd: Int32,
        into first: UnsafeMutableRawBufferPointer,
        _ second: UnsafeMutableRawBufferPointer
    ) throws(SyscallError) -> Int? {
        var iov = (
            iovec(iov_base: first.baseAddress, iov_len: first.count),
            iovec(iov_base: second.baseAddress, iov_len: second.count)
        )
        while true {
            let n = withUnsafeMutablePointer(to: &iov) {
                $0.withMemoryRebound(to: iovec.self, capacity: 2) { Glibc.readv(fd, $0, 2) }
            }
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN: return nil
            default: throw .current
            }
        }
    }

    /// `writev(2)` of two buffers (a header, then a frame) in one call; returns the bytes written.
    static func write(
        _ fd: Int32,
        _ first: UnsafeRawBufferPointer,
        _ second: UnsafeRawBufferPointer
    ) throws(SyscallError) -> Int {
        var iov = (
            iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count),
            iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count)
        )
        while true {
            let n = withUnsafeMutablePointer(to: &iov) {
                $0.withMemoryRebound(to: iovec.self, capacity: 2) { Glibc.writev(fd, $0, 2) }
            }
            if n >= 0 { return n }
            if errno != EINTR { throw .current }
        }
    }

    /// `ioctl(TUNSETVNETHDRSZ)` then `ioctl(TUNSETOFFLOAD)`.
    static func setTunOffload(_ fd: Int32, headerSize: Int32, flags: UInt32) throws(SyscallError) {
        guard ctuntap_set_vnet_header_size(fd, headerSize) == 0 else { throw .current }
        guard ctuntap_set_offload(fd, flags) == 0 else { throw .current }
    }

    /// `write(2)` of the whole buffer in one call; returns the byte count written.
    static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(SyscallError) -> Int {
        while true {
            let n = Glibc.write(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw .current }
        }
    }

    /// `write(2)` repeated until every byte is written (for regular files).
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(SyscallError) {
        var offset = 0
        while offset < buffer.count {
            let n = try write(fd, UnsafeRawBufferPointer(rebasing: buffer[offset...]))
            if n == 0 { throw SyscallError(code: EIO) }
            offset += n
        }
    }

    /// `ioctl(TUNSETIFF)` through `ctuntap_attach`; returns the interface's actual name.
    static func attachTunTap(_ fd: Int32, name: String, flags: Int32) throws(SyscallError) -> String {
        var actual = [CChar](repeating: 0, count: Int(IFNAMSIZ) + 1)
        let rc = actual.withUnsafeMutableBufferPointer { out in
            ctuntap_attach(fd, name, Int16(truncatingIfNeeded: flags), out.baseAddress)
        }
        if rc != 0 { throw .current }
        return actual.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// `ioctl(SIOCGIFMTU)` and `ioctl(SIOCGIFHWADDR)` on the interface `name`.
    static func interfaceInfo(name: String) throws(SyscallError) -> (mtu: Int, mac: UInt64) {
        var mtu: Int32 = 0
        var mac = (UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0))
        let rc = withUnsafeMutableBytes(of: &mac) { macBytes in
            ctuntap_interface_info(name, &mtu, macBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        if rc != 0 { throw .current }
        var value: UInt64 = 0
        withUnsafeBytes(of: mac) { for b in $0 { value = value << 8 | UInt64(b) } }
        return (Int(mtu), value)
    }

    /// `eventfd(2)`.
    static func eventfd(flags: Int32) throws(SyscallError) -> Int32 {
        let fd = CTunTap.eventfd(0, flags)
        if fd < 0 { throw .current }
        return fd
    }

    /// `poll(2)`; returns the number of ready descriptors, 0 on timeout or `EINTR`.
    static func poll(_ fds: UnsafeMutableBufferPointer<pollfd>, timeoutMilliseconds: Int32) throws(SyscallError) -> Int
    {
        let n = Glibc.poll(fds.baseAddress, nfds_t(fds.count), timeoutMilliseconds)
        if n >= 0 { return Int(n) }
        if errno == EINTR { return 0 }
        throw .current
    }

    /// `clock_gettime(2)` in nanoseconds.
    static func clockNanoseconds(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        let rc = clock_gettime(clock, &ts)
        precondition(rc == 0, "clock_gettime failed: errno \(errno)")
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    /// `getrandom(2)` filling `buffer` completely (blocks only until the kernel's pool is
    /// initialised, early at boot).
    static func getrandom(_ buffer: UnsafeMutableRawBufferPointer) throws(SyscallError) {
        var offset = 0
        while offset < buffer.count {
            let n = CTunTap.getrandom(buffer.baseAddress! + offset, buffer.count - offset, 0)
            if n < 0 {
                if errno == EINTR { continue }
                throw .current
            }
            offset += n
        }
    }

    /// `strerror(3)`: the C library's message for `code`.
    static func message(for code: Int32) -> String {
        guard let text = strerror(code) else { return "Unknown error \(code)" }
        return String(cString: text)
    }
}
