import Testing

@testable import TCPIPCore

@Suite struct DeviceCapabilitiesTests {
    @Test func framesCountTheLinkHeaderOnEthernetOnly() {
        let l2 = DeviceCapabilities(medium: .ethernet, mtu: 1500)
        #expect(l2.maxFrameLength == 1514)
        #expect(l2.maxSegmentedFrameLength == 65535 + 14)
        #expect(l2.hasNoOffloads && l2.queueCount == 1)
        let l3 = DeviceCapabilities(medium: .ip, mtu: 1400)
        #expect(l3.maxFrameLength == 1400)
    }

    @Test func aDeviceAcceptsOnlyTheOffloadsItDeclares() {
        let plain = DeviceCapabilities(medium: .ethernet, mtu: 1500)
        let partial = FrameOffload(flags: .needsChecksum, checksumStart: 34, checksumOffset: 16)
        let tso = FrameOffload(flags: .needsChecksum, segmentationType: .tcpIPv4, headerLength: 54, segmentSize: 1448)
        #expect(plain.acceptsTransmit(.none))
        #expect(!plain.acceptsTransmit(partial))
        #expect(!plain.acceptsTransmit(tso))
        let offloading = DeviceCapabilities(
            medium: .ethernet,
            mtu: 1500,
            transmitChecksumOffload: true,
            transmitSegmentation: [.tcpIPv4]
        )
        #expect(offloading.acceptsTransmit(partial))
        #expect(offloading.acceptsTransmit(tso))
        var v6 = tso
        v6.segmentationType = .tcpIPv6
        #expect(!offloading.acceptsTransmit(v6))
        #expect(!offloading.hasNoOffloads)
    }
}
