import Foundation
import Glibc
import TCPIPCore
import Testing

@testable import TCPIPDrivers

/// TAP error paths and frame I/O. Nothing here creates an interface or sends traffic: a real
/// attach needs a network namespace of its own, which the interop tests set up.
@Suite struct TAPDeviceTests {
    @Test func descriptionIsOneLineNamingDeviceAndErrno() {
        let busy = DriverError(device: "tap0", operation: "cannot attach to /dev/net/tun", code: EBUSY)
        #expect(busy.description == "tap0: cannot attach to /dev/net/tun: Device or resource busy (EBUSY)")
        #expect(busy.kind == .busy)
        #expect(DriverError(device: "tap0", operation: "x", code: ENOENT).kind == .notFound)
        #expect(DriverError(device: "tap0", operation: "x", code: EPERM).kind == .permission)
        #expect(DriverError(device: "tap0", operation: "x", code: EACCES).kind == .permission)
        #expect(DriverError(device: "tap0", operation: "x", code: EINVAL).kind == .other)
        let hinted = DriverError(
            device: "tap1",
            operation: "cannot attach to /dev/net/tun",
            code: EPERM,
            hint: "needs root"
        )
        #expect(
            hinted.description == "tap1: cannot attach to /dev/net/tun: Operation not permitted (EPERM); needs root"
        )
        #expect(DriverError.name(ofErrno: 4095) == "errno 4095")
    }

    @Test func tooLongANameFailsWithEINVALBeforeAnySyscall() {
        let name = "tcpip-name-much-too-long-for-ifnamsiz"
        #expect {
            _ = try TAPDevice(name: name)
        } throws: { error in
            guard let error = error as? DriverError else { return false }
            let line = error.description
            return error.code == EINVAL && line.contains(name) && line.contains("(EINVAL)") && !line.contains("\n")
        }
    }

    @Test func anEmptyNameIsRejected() {
        // An empty name would let the kernel pick `tapN`: refuse it rather than create a surprise interface.
        #expect(throws: DriverError.self) { _ = try TAPDevice(name: "") }
    }

    /// Without root or CAP_NET_ADMIN, attaching fails with a permission error that says so.
    /// Skipped with the capability: attaching would then create an interface in this namespace.
    @Test func unprivilegedAttachFailsWithPermission() throws {
        guard !Self.hasNetAdmin() else {
            print("TAPDeviceTests: running with CAP_NET_ADMIN; skipping the unprivileged attach test")
            return
        }
        let name = "tcpipdrv\(getpid() % 100_000)"
        #expect {
            _ = try TAPDevice(name: name)
        } throws: { error in
            guard let error = error as? DriverError else { return false }
            print("TAPDeviceTests: unprivileged attach: \(error)")
            return error.description.contains(name)
                && (error.kind == .permission || error.kind == .notFound)
        }
    }

    /// Frame I/O on an adopted `SOCK_SEQPACKET` socket, which keeps message boundaries as TAP does.
    @Test func readWriteOneFramePerCallAndCountDrops() throws {
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &pair) == 0)
        let device = TAPDevice(adopting: pair[0], name: "seq0")
        let peer = TAPDevice(adopting: pair[1], name: "seq1")
        var buffer = [UInt8](repeating: 0, count: 2048)

        #expect(try buffer.withUnsafeMutableBytes { try device.read(into: $0) } == nil)
        let a: [UInt8] = Array(repeating: 0xaa, count: 60)
        let b: [UInt8] = Array(repeating: 0xbb, count: 1514)
        try a.withUnsafeBytes { try peer.write($0) }
        try b.withUnsafeBytes { try peer.write($0) }
        #expect(try buffer.withUnsafeMutableBytes { try device.read(into: $0) } == 60)
        #expect(Array(buffer[..<60]) == a)
        #expect(try buffer.withUnsafeMutableBytes { try device.read(into: $0) } == 1514)
        #expect(Array(buffer[..<1514]) == b)
        #expect(try buffer.withUnsafeMutableBytes { try device.read(into: $0) } == nil)

        // Nobody reads: the socket buffer fills, and further frames are dropped and counted.
        for _ in 0..<10_000 { try b.withUnsafeBytes { try peer.write($0) } }
        #expect(peer.writeDrops > 0)

        device.close()
        device.close()
        #expect(device.fd == -1)
        #expect {
            _ = try buffer.withUnsafeMutableBytes { try device.read(into: $0) }
        } throws: { error in
            (error as? DriverError)?.description.hasPrefix("seq0: read failed: Bad file descriptor (EBADF)") == true
        }
        peer.close()
    }

    /// With offloads, every frame travels behind a 10-byte `virtio_net_hdr`: written with one
    /// `writev`, read with one `readv`, the metadata decoded; a header too short or of an
    /// unknown type reads as an empty frame (which the stack counts as too short).
    @Test func offloadsPutAVirtioHeaderInFrontOfEveryFrame() throws {
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &pair) == 0)
        let device = TAPDevice(adopting: pair[0], name: "seq0", offloads: true)
        let peer = TAPDevice(adopting: pair[1], name: "seq1")
        defer {
            device.close()
            peer.close()
        }
        var buffer = [UInt8](repeating: 0, count: 70000)
        let gso = FrameOffload(
            flags: .needsChecksum,
            segmentationType: .tcpIPv4,
            headerLength: 66,
            segmentSize: 1448,
            checksumStart: 34,
            checksumOffset: 16
        )
        let big = [UInt8](repeating: 0xcc, count: 65000)
        let header: [UInt8] = [1, 1, 66, 0, 0xA8, 0x05, 34, 0, 16, 0]
        try (header + big).withUnsafeBytes { try peer.write($0) }
        let got = try buffer.withUnsafeMutableBytes { try device.readFrame(into: $0) }
        #expect(got?.length == big.count && got?.offload == gso)
        #expect(Array(buffer[..<big.count]) == big)

        // Written: the header first (all zero for `.none`), then the frame.
        let frame = [UInt8](repeating: 0xdd, count: 60)
        try frame.withUnsafeBytes { try device.write($0) }
        #expect(try buffer.withUnsafeMutableBytes { try peer.read(into: $0) } == 70)
        #expect(Array(buffer[..<70]) == [UInt8](repeating: 0, count: 10) + frame)

        // A header naming no known segmentation: an empty frame.
        try ([0, 2, 0, 0, 0, 0, 0, 0, 0, 0] + frame).withUnsafeBytes { try peer.write($0) }
        #expect(try buffer.withUnsafeMutableBytes { try device.readFrame(into: $0) }?.length == 0)
        #expect(try buffer.withUnsafeMutableBytes { try device.readFrame(into: $0) } == nil)
        #expect(device.capabilities.receiveChecksumOffload && device.capabilities.receiveCoalescing.contains(.tcpIPv4))
    }

    /// Whether this process has CAP_NET_ADMIN (bit 12 of CapEff in /proc/self/status).
    static func hasNetAdmin() -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
            return getuid() == 0
        }
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces)
            guard let caps = UInt64(hex, radix: 16) else { return true }
            return caps & (1 << 12) != 0
        }
        return getuid() == 0
    }
}
