import CTunTap
import Glibc
import TCPIPCore

/// A Linux TAP interface: Ethernet frames in and out through a descriptor of `/dev/net/tun`.
///
/// One `read` returns one frame and one `write` sends one frame. The descriptor is
/// non-blocking: wait for it with a `Poller`.
///
/// Opened with `offloads`, the interface carries a `struct virtio_net_hdr` in front of every
/// frame (`IFF_VNET_HDR`, `TUNSETVNETHDRSZ` 10) and tells the kernel it takes partial
/// checksums and TCP super-frames (`TUNSETOFFLOAD` with `TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6
/// | TUN_F_TSO_ECN`): the kernel then hands over up to 64 KiB of a TCP flow in one frame
/// (`gso_type` TCPV4, `gso_size` its MSS) with the transport checksum left partial
/// (`NEEDS_CSUM`), or verified (`DATA_VALID`), and the frame's `FrameOffload` says which.
/// Frames written carry a header too (`.none` for now: complete checksums, no segmentation).
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
    /// True when frames carry a virtio-net header and the kernel may send offloaded frames.
    public let offloads: Bool

    /// `TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN` (linux/if_tun.h).
    static let offloadFlags: UInt32 = 0x01 | 0x02 | 0x04 | 0x08

    /// The path of the TUN/TAP clone device.
    public static let clonePath = "/dev/net/tun"

    /// Opens `/dev/net/tun` and attaches to the TAP interface `name` (`IFF_TAP | IFF_NO_PI`,
    /// and `IFF_VNET_HDR` with `offloads`).
    ///
    /// If no interface of that name exists and the caller has `CAP_NET_ADMIN`, the kernel
    /// creates one in the caller's network namespace, so tests do this only inside a namespace
    /// of their own. `name` must be 1…15 bytes, else `EINVAL` before any system call.
    public init(name: String, offloads: Bool = false) throws(DriverError) {
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
            let flags = IFF_TAP | IFF_NO_PI | (offloads ? IFF_VNET_HDR : 0)
            self.name = try Syscall.attachTunTap(fd, name: name, flags: Int32(flags))
        } catch {
            Syscall.close(fd)
            throw Self.attachError(name: name, operation: "cannot attach to \(Self.clonePath)", code: error.code)
        }
        if offloads {
            do {
                try Syscall.setTunOffload(
                    fd,
                    headerSize: Int32(FrameOffload.virtioHeaderLength),
                    flags: Self.offloadFlags
                )
            } catch {
                Syscall.close(fd)
                throw DriverError(device: name, operation: "cannot set offloads (TUNSETOFFLOAD)", code: error.code)
            }
        }
        self.fd = fd
        self.offloads = offloads
    }

    /// Wraps an already open descriptor (for tests: a `SOCK_SEQPACKET` socket behaves like TAP;
    /// with `offloads`, its peer writes and reads a virtio-net header before each frame).
    init(adopting fd: Int32, name: String, offloads: Bool = false) {
        self.fd = fd
        self.name = name
        self.offloads = offloads
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

    /// Reads one queued frame and its virtio-net header (with `offloads`): the frame into
    /// `buffer`, its metadata decoded. Nil when none is queued. A frame whose header is short
    /// or names an unknown segmentation comes back as `.none` metadata with length 0 (the stack
    /// counts an empty frame as too short).
    public func readFrame(
        into buffer: UnsafeMutableRawBufferPointer
    ) throws(DriverError) -> (length: Int, offload: FrameOffload)? {
        guard offloads else { return try read(into: buffer).map { ($0, .none) } }
        var header = (UInt64(0), UInt16(0))  // 10 bytes of room
        let got: Int?
        do {
            got = try withUnsafeMutableBytes(of: &header) { (h) throws(SyscallError) -> Int? in
                try Syscall.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: h[0..<10]), buffer)
            }
        } catch {
            throw DriverError(device: name, operation: "read failed", code: error.code)
        }
        guard let n = got else { return nil }
        let offload = withUnsafeBytes(of: &header) { FrameOffload(virtioHeader: $0) }
        guard n >= FrameOffload.virtioHeaderLength, let offload else { return (0, .none) }
        return (n - FrameOffload.virtioHeaderLength, offload)
    }

    /// Sends one frame with one `write` (a `writev` behind its virtio-net header with
    /// `offloads`). When the kernel queue is full (`EAGAIN`, `ENOBUFS`) the frame is dropped
    /// and counted in `writeDrops`, as a NIC drops on a full ring.
    public func write(_ frame: UnsafeRawBufferPointer, offload: FrameOffload = .none) throws(DriverError) {
        do {
            if offloads {
                var header = (UInt64(0), UInt16(0))
                try withUnsafeMutableBytes(of: &header) { (h) throws(SyscallError) in
                    offload.writeVirtioHeader(into: h)
                    _ = try Syscall.write(fd, UnsafeRawBufferPointer(rebasing: h[0..<10]), frame)
                }
            } else {
                _ = try Syscall.write(fd, frame)
            }
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
    /// L2 (Ethernet) framing, `mtu`, one queue; with `offloads`, receive checksum offload and
    /// TCP super-frames (GRO) on receive.
    public var capabilities: DeviceCapabilities {
        guard offloads else { return DeviceCapabilities(medium: .ethernet, mtu: mtu) }
        return DeviceCapabilities(
            medium: .ethernet,
            mtu: mtu,
            receiveChecksumOffload: true,
            receiveCoalescing: [.tcpIPv4, .tcpIPv6],
            maxSegmentedFrameLength: 65535 + 14
        )
    }

    /// The `/dev/net/tun` descriptor.
    public var readinessDescriptor: Int32 { fd }

    /// Reads frames, one `read` each, until none is queued or `batch` is full.
    @discardableResult
    public func receive(into batch: inout FrameBatch) throws(DriverError) -> Int {
        var n = 0
        while batch.hasRoom {
            var offload = FrameOffload.none
            let got = try batch.append { (buffer) throws(DriverError) -> Int? in
                guard let r = try readFrame(into: buffer) else { return nil }
                offload = r.offload
                return r.length
            }
            guard got else { break }
            if !offload.isNone { batch.setLastOffload(offload) }
            n += 1
        }
        return n
    }

    /// Sends one frame with one `write` (see `write(_:offload:)`).
    public func transmit(_ frame: UnsafeRawBufferPointer, offload: FrameOffload) throws(DriverError) {
        try write(frame, offload: offload)
    }
}
