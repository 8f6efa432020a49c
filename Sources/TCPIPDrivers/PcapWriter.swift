import Glibc
import TCPIPCore

/// Writes Ethernet frames to a classic pcap file (the format tcpdump, tshark and Wireshark
/// read): magic `0xa1b2c3d4`, version 2.4, snap length 262144, link type 1 (Ethernet),
/// microsecond timestamps, all little-endian.
///
/// Records are buffered and written in batches; `flush()` or `close()` to see them on disk.
/// Not thread-safe: it is `Sendable` only so it can be handed to the one thread that uses it.
public final class PcapWriter: @unchecked Sendable {
    /// The classic pcap magic number (microsecond timestamps).
    public static let magic: UInt32 = 0xa1b2_c3d4
    /// The largest number of bytes kept per frame; longer frames are truncated.
    public static let snapLength: UInt32 = 262_144
    /// The link type for Ethernet (`LINKTYPE_ETHERNET`).
    public static let linkTypeEthernet: UInt32 = 1

    /// The file being written.
    public let path: String
    /// Nanoseconds added to each `Instant` to make Unix-epoch time.
    public let epochOffsetNanoseconds: Int64
    /// Frames written so far.
    public private(set) var frameCount = 0

    private var fd: Int32
    private var buffer: [UInt8] = []
    private var deferredError: DriverError?
    private static let flushThreshold = 64 * 1024

    /// Creates (or truncates) the file at `path` and writes the pcap global header.
    ///
    /// Timestamps are `instant + epochOffsetNanoseconds`: leave it 0 for simulated time, or
    /// pass `MonotonicClock.epochOffsetNanoseconds()` so real runs show wall-clock time.
    public init(path: String, epochOffsetNanoseconds: Int64 = 0) throws(DriverError) {
        self.path = path
        self.epochOffsetNanoseconds = epochOffsetNanoseconds
        do {
            fd = try Syscall.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode: 0o644)
        } catch {
            throw DriverError(device: path, operation: "cannot create pcap file", code: error.code)
        }
        buffer.reserveCapacity(Self.flushThreshold + 2048)
        appendLittleEndian(Self.magic)
        appendLittleEndian(UInt16(2))  // version major
        appendLittleEndian(UInt16(4))  // version minor
        appendLittleEndian(UInt32(0))  // thiszone: timestamps are UTC
        appendLittleEndian(UInt32(0))  // sigfigs
        appendLittleEndian(Self.snapLength)
        appendLittleEndian(Self.linkTypeEthernet)
        try flush()
    }

    deinit {
        if fd >= 0 {
            try? flush()
            Syscall.close(fd)
        }
    }

    /// Appends one record: `frame` (truncated to the snap length) stamped with `time`, with
    /// its offload metadata: a checksum the device left partial (`needsChecksum`) is completed
    /// in the copy written, as it would be on the wire; a super-frame (GRO/TSO) is written as
    /// the one large frame it is, which tshark reads as such (as `tcpdump` on a host with GRO
    /// shows it).
    ///
    /// Write errors surface at the next `flush()` or `close()`; after `close()` this does nothing.
    public func write(frame: UnsafeRawBufferPointer, offload: FrameOffload = .none, at time: Instant) {
        guard fd >= 0 else { return }
        let nanoseconds = time.nanoseconds &+ epochOffsetNanoseconds
        // Floor division, so instants before the epoch still give 0 ≤ microseconds < 10⁶.
        var seconds = nanoseconds / 1_000_000_000
        var remainder = nanoseconds % 1_000_000_000
        if remainder < 0 {
            seconds -= 1
            remainder += 1_000_000_000
        }
        let captured = min(frame.count, Int(Self.snapLength))
        appendLittleEndian(UInt32(truncatingIfNeeded: seconds))
        appendLittleEndian(UInt32(remainder / 1000))
        appendLittleEndian(UInt32(captured))
        appendLittleEndian(UInt32(truncatingIfNeeded: frame.count))
        let recordStart = buffer.count
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: frame[..<captured]))
        if offload.flags.contains(.needsChecksum) && captured == frame.count {
            Self.completeChecksum(&buffer, from: recordStart, offload: offload)
        }
        frameCount += 1
        if buffer.count >= Self.flushThreshold {
            do {
                try flush()
            } catch {
                deferredError = deferredError ?? error
            }
        }
    }

    /// Completes a partial checksum in the record starting at `start`, as a device would
    /// (Linux's `skb_checksum_help`): the one's-complement sum from `csum_start` to the end,
    /// the partial sum in place included, folded and inverted into `csum_start + csum_offset`.
    static func completeChecksum(_ buffer: inout [UInt8], from start: Int, offload: FrameOffload) {
        let begin = start + Int(offload.checksumStart)
        let field = begin + Int(offload.checksumOffset)
        guard field + 2 <= buffer.count else { return }
        buffer.withUnsafeMutableBytes { b in
            let value = InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: b[begin...]))
            b[field] = UInt8(value >> 8)
            b[field + 1] = UInt8(truncatingIfNeeded: value)
        }
    }

    /// Writes every buffered record to the file. Throws the first error of an earlier
    /// automatic flush, if there was one.
    public func flush() throws(DriverError) {
        if let error = deferredError {
            deferredError = nil
            throw error
        }
        guard fd >= 0, !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        let failure = buffer.withUnsafeBytes { bytes -> SyscallError? in
            do throws(SyscallError) {
                try Syscall.writeAll(fd, bytes)
                return nil
            } catch {
                return error
            }
        }
        if let failure {
            throw DriverError(device: path, operation: "cannot write pcap file", code: failure.code)
        }
    }

    /// Flushes and closes the file. Calling it again does nothing.
    public func close() throws(DriverError) {
        guard fd >= 0 else { return }
        defer {
            Syscall.close(fd)
            fd = -1
        }
        try flush()
    }

    private func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }
}
