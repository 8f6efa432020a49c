import CTunTap
import Glibc
import TCPIPCore

/// A Linux TAP interface: Ethernet frames in and out through a descriptor of `/dev/net/tun`.
///
/// One `read` returns one frame and one `write` sends one frame, so frames are never batched
/// into a `writev`. The descriptor is non-blocking: wait for it with a `Poller`. As a
/// `NetworkDevice` it moves Ethernet frames without offloads, batched one system call per
/// frame (`IFF_VNET_HDR` and batching are for later).
///
/// Not thread-safe: it is `Sendable` only so it can be handed to the one thread that owns it
/// (a host's event loop), which then makes every call.
public final class TAPDevice: @unchecked Sendable {
    /// The interface name the kernel attached us to, e.g. `tap0`.
    public let name: String
    /// The descriptor of `/dev/net/tun`, or -1 once closed.
    public private(set) var fd: Int32
    /// Frames `write` dropped because the kernel queue was full (`EAGAIN` or `ENOBUFS`).
    public private(set) var writeDrops: Int = 0
    /// The MTU the stack uses on this interface (its configuration's), declared in
    /// `capabilities`; 1500 unless set.
    public var mtu: Int = 1500

    /// The path of the TUN/TAP clone device.
    public static let clonePath = "/dev/net/tun"

    /// Opens `/dev/net/tun` and attaches to the TAP interface `name` (`IFF_TAP | IFF_NO_PI`).
    ///
    /// If no interface of that name exists and the caller has `CAP_NET_ADMIN`, the kernel
    /// creates one in the caller's network namespace, so tests do this only inside a namespace
    /// of their own. `name` must be 1…15 bytes, else `EINVAL` before any system call.
    public init(name: String) throws(DriverError) {
        guard !name.isEmpty, name.utf8.count < Int(IFNAMSIZ), !name.utf8.contains(0) else {
            throw DriverError(
                device: name,
                operation: "invalid interface name (1…\(IFNAMSIZ - 1) bytes)",
                code: EINVAL
            )
        }
        let fd: Int32
        do {
            fd = try Syscall.open(Self.clonePath, flags: O_RDWR | O_NONBLOCK | O_CLOEXEC)
        } catch {
            throw Self.attachError(name: name, operation: "cannot open \(Self.clonePath)", code: error.code)
        }
        do {
            self.name = try Syscall.attachTunTap(fd, name: name, flags: IFF_TAP | IFF_NO_PI)
        } catch {
            Syscall.close(fd)
            throw Self.attachError(name: name, operation: "cannot attach to \(Self.clonePath)", code: error.code)
        }
        self.fd = fd
    }

    /// Wraps an already open descriptor (for tests: a `SOCK_SEQPACKET` socket behaves like TAP).
    init(adopting fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }

    deinit {
        if fd >= 0 { Syscall.close(fd) }
    }

    private static func attachError(name: String, operation: String, code: Int32) -> DriverError {
        let hint: String? =
            switch code {
            case ENOENT: "load the tun module (modprobe tun)"
            case EPERM, EACCES: "needs root or CAP_NET_ADMIN"
            case EBUSY: "another process or descriptor is attached to \(name)"
            default: nil
            }
        return DriverError(device: name, operation: operation, code: code, hint: hint)
    }

    /// Reads one queued frame into `buffer`; returns its length, or `nil` when none is queued.
    ///
    /// A frame longer than `buffer` is truncated, so give it at least MTU + 14 bytes.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(DriverError) -> Int? {
        do {
            return try Syscall.read(fd, into: buffer)
        } catch {
            throw DriverError(device: name, operation: "read failed", code: error.code)
        }
    }

    /// Sends one frame with one `write`. When the kernel queue is full (`EAGAIN`, `ENOBUFS`)
    /// the frame is dropped and counted in `writeDrops`, as a NIC drops on a full ring.
    public func write(_ frame: UnsafeRawBufferPointer) throws(DriverError) {
        do {
            _ = try Syscall.write(fd, frame)
        } catch {
            switch error.code {
            case EAGAIN, ENOBUFS: writeDrops += 1
            default: throw DriverError(device: name, operation: "write failed", code: error.code)
            }
        }
    }

    /// The interface's MTU and MAC address as the kernel sees them (in the caller's namespace).
    ///
    /// The MAC is the kernel's end of the link; the stack uses an address of its own.
    public func interfaceInfo() throws(DriverError) -> (mtu: Int, mac: MACAddress) {
        do {
            let info = try Syscall.interfaceInfo(name: name)
            return (info.mtu, MACAddress(rawValue: info.mac))
        } catch {
            throw DriverError(device: name, operation: "cannot read MTU and MAC", code: error.code)
        }
    }

    /// Closes the descriptor; the interface goes away unless it was made persistent.
    /// Calling it again does nothing.
    public func close() {
        guard fd >= 0 else { return }
        Syscall.close(fd)
        fd = -1
    }
}

extension TAPDevice: NetworkDevice {
    /// L2 (Ethernet) framing, `mtu`, no offloads, one queue.
    public var capabilities: DeviceCapabilities { DeviceCapabilities(medium: .ethernet, mtu: mtu) }

    /// The `/dev/net/tun` descriptor.
    public var readinessDescriptor: Int32 { fd }

    /// Reads frames, one `read` each, until none is queued or `batch` is full.
    @discardableResult
    public func receive(into batch: inout FrameBatch) throws(DriverError) -> Int {
        var n = 0
        while batch.hasRoom {
            let got = try batch.append { (buffer) throws(DriverError) -> Int? in try read(into: buffer) }
            guard got else { break }
            n += 1
        }
        return n
    }

    /// Sends one frame with one `write` (see `write(_:)`); `offload` must be `.none`.
    public func transmit(_ frame: UnsafeRawBufferPointer, offload: FrameOffload) throws(DriverError) {
        try write(frame)
    }
}
