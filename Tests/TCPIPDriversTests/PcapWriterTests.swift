import Foundation
import TCPIPCore
import Testing

@testable import TCPIPDrivers

@Suite struct PcapWriterTests {
    static func temporaryPath(_ name: String) -> String {
        "\(NSTemporaryDirectory())/tcpip-\(name)-\(getpid())-\(SystemEntropy.seed() % 1_000_000).pcap"
    }

    @Test func globalHeaderGoldenBytes() throws {
        let path = Self.temporaryPath("header")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try PcapWriter(path: path)
        try writer.close()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(
            bytes == [
                0xd4, 0xc3, 0xb2, 0xa1,  // magic 0xa1b2c3d4, little-endian
                0x02, 0x00, 0x04, 0x00,  // version 2.4
                0x00, 0x00, 0x00, 0x00,  // thiszone
                0x00, 0x00, 0x00, 0x00,  // sigfigs
                0x00, 0x00, 0x04, 0x00,  // snaplen 262144
                0x01, 0x00, 0x00, 0x00,  // LINKTYPE_ETHERNET
            ]
        )
    }

    @Test func recordHeaderGoldenBytes() throws {
        let path = Self.temporaryPath("record")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // 1 s + 250 µs 999 ns after the origin, plus an epoch offset of 1_700_000_000 s.
        let writer = try PcapWriter(path: path, epochOffsetNanoseconds: 1_700_000_000 * 1_000_000_000)
        let frame: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06]
        frame.withUnsafeBytes { writer.write(frame: $0, at: Instant(nanoseconds: 1_000_250_999)) }
        #expect(writer.frameCount == 1)
        try writer.close()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.count == 24 + 16 + frame.count)
        #expect(
            Array(bytes[24..<40]) == [
                0x01, 0xf1, 0x53, 0x65,  // ts_sec 1_700_000_001 = 0x6553f101
                0xfa, 0x00, 0x00, 0x00,  // ts_usec 250
                0x0e, 0x00, 0x00, 0x00,  // incl_len 14
                0x0e, 0x00, 0x00, 0x00,  // orig_len 14
            ]
        )
        #expect(Array(bytes[40...]) == frame)
    }

    /// A frame whose checksum a device was to complete (`needsChecksum`) is written with the
    /// checksum completed, as it would be on the wire; the frame handed in is left alone.
    @Test func aPartialChecksumIsCompletedInTheCopyWritten() throws {
        let path = Self.temporaryPath("partial")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try PcapWriter(path: path)
        var frame = (0..<120).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        frame[50] = 0x12  // a partial sum in the field at 34 + 16
        frame[51] = 0x34
        let offload = FrameOffload(flags: .needsChecksum, checksumStart: 34, checksumOffset: 16)
        frame.withUnsafeBytes { writer.write(frame: $0, offload: offload, at: .zero) }
        try writer.close()
        let record = Array([UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))[40...])
        #expect(record.count == frame.count)
        #expect(Array(record[..<50]) == Array(frame[..<50]) && Array(record[52...]) == Array(frame[52...]))
        // The sum over [34, end) with the partial value in place, folded and inverted.
        var sum = InternetChecksum()
        frame.withUnsafeBytes { sum.add(UnsafeRawBufferPointer(rebasing: $0[34...])) }
        #expect(record[50] == UInt8(sum.value >> 8) && record[51] == UInt8(truncatingIfNeeded: sum.value))
    }

    @Test func negativeInstantsFloorToValidMicroseconds() throws {
        let path = Self.temporaryPath("negative")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try PcapWriter(path: path, epochOffsetNanoseconds: 10_000_000_000)
        let frame = [UInt8](repeating: 0, count: 60)
        frame.withUnsafeBytes { writer.write(frame: $0, at: Instant(nanoseconds: -1_000)) }  // 9.999999 s
        try writer.close()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(Array(bytes[24..<32]) == [0x09, 0, 0, 0, 0x3f, 0x42, 0x0f, 0x00])  // 9 s, 999_999 µs
    }

    @Test func framesLongerThanTheSnapLengthAreTruncated() throws {
        let path = Self.temporaryPath("snap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try PcapWriter(path: path)
        let frame = [UInt8](repeating: 0xab, count: Int(PcapWriter.snapLength) + 10)
        frame.withUnsafeBytes { writer.write(frame: $0, at: .zero) }
        try writer.close()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.count == 24 + 16 + Int(PcapWriter.snapLength))
        #expect(Array(bytes[32..<40]) == [0x00, 0x00, 0x04, 0x00, 0x0a, 0x00, 0x04, 0x00])
    }

    @Test func createFailureNamesThePathAndErrno() {
        let path = "/nonexistent-dir-\(getpid())/x.pcap"
        #expect {
            _ = try PcapWriter(path: path)
        } throws: { error in
            guard let error = error as? DriverError else { return false }
            return error.kind == .notFound && error.description.contains(path)
                && error.description.contains("(ENOENT)")
        }
    }

    /// Many frames (so the buffer flushes several times), read back by tshark if it is installed.
    @Test func tsharkReadsTheFileWithoutMalformedPackets() throws {
        let path = Self.temporaryPath("tshark")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try PcapWriter(path: path, epochOffsetNanoseconds: MonotonicClock.epochOffsetNanoseconds())
        let frames = 2000
        for i in 0..<frames {
            let frame = Self.udpFrame(payloadLength: i % 200, sequence: UInt16(truncatingIfNeeded: i))
            frame.withUnsafeBytes { writer.write(frame: $0, at: Instant(nanoseconds: Int64(i) * 1_000_000)) }
        }
        try writer.close()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(size == 24 + (0..<frames).reduce(0) { $0 + 16 + 42 + $1 % 200 })

        guard let tshark = Self.findExecutable("tshark") else {
            print("PcapWriterTests: tshark is not installed; skipping the tshark read-back")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tshark)
        process.arguments = ["-r", path]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err  // e.g. "Running as user "root" …": a warning, not a failure
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(errors.prefix(500))")
        #expect(!output.contains("Malformed") && !errors.contains("Malformed"), "\(output.prefix(500))")
        #expect(!errors.contains("appears to be damaged") && !errors.contains("isn't a capture file"), "\(errors)")
        #expect(output.split(separator: "\n").count == frames)
        #expect(output.contains("UDP"))
    }

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// An Ethernet + IPv4 + UDP frame with correct lengths and checksums.
    static func udpFrame(payloadLength: Int, sequence: UInt16) -> [UInt8] {
        var f: [UInt8] = [0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]
        let total = 20 + 8 + payloadLength
        var ip: [UInt8] = [
            0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), UInt8(sequence >> 8), UInt8(sequence & 0xff), 0x40, 0,
            64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]
        let sum = InternetChecksumHelper.checksum(ip)
        ip[10] = UInt8(sum >> 8)
        ip[11] = UInt8(sum & 0xff)
        f += ip
        let udpLength = 8 + payloadLength
        f += [0x30, 0x39, 0x9c, 0x41, UInt8(udpLength >> 8), UInt8(udpLength & 0xff), 0, 0]  // checksum 0: none
        f += (0..<payloadLength).map { UInt8(truncatingIfNeeded: $0) }
        return f
    }
}

/// A self-contained RFC 1071 checksum so these tests do not depend on the core's wire code.
enum InternetChecksumHelper {
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
