import Testing

@testable import TCPIPCore

@Suite struct FrameOffloadTests {
    @Test func theVirtioHeaderRoundTripsFieldForField() {
        let offload = FrameOffload(
            flags: .needsChecksum,
            segmentationType: .tcpIPv4,
            ecn: true,
            headerLength: 54,
            segmentSize: 1448,
            checksumStart: 34,
            checksumOffset: 16
        )
        var bytes = [UInt8](repeating: 0xFF, count: FrameOffload.virtioHeaderLength)
        bytes.withUnsafeMutableBytes { offload.writeVirtioHeader(into: $0) }
        // flags, gso_type | ECN, then four little-endian 16-bit fields.
        #expect(bytes == [1, 0x81, 54, 0, 0xA8, 0x05, 34, 0, 16, 0])
        #expect(bytes.withUnsafeBytes { FrameOffload(virtioHeader: $0) } == offload)
    }

    @Test func unknownTypesAndShortHeadersAreRejected() {
        #expect(([0, 2, 0, 0, 0, 0, 0, 0, 0, 0] as [UInt8]).withUnsafeBytes { FrameOffload(virtioHeader: $0) } == nil)
        #expect(([0, 0, 0] as [UInt8]).withUnsafeBytes { FrameOffload(virtioHeader: $0) } == nil)
        let zero = [UInt8](repeating: 0, count: 10).withUnsafeBytes { FrameOffload(virtioHeader: $0) }
        #expect(zero == FrameOffload.none)
        #expect(zero?.isNone == true && zero?.isSegmented == false)
    }
}
