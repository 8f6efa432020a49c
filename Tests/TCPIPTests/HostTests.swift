import Foundation
import Testing

@testable import TCPIP
@testable import TCPIPCore
@testable import TCPIPDrivers

/// `Host` on the `NetworkDevice` protocol: two hosts in one process over the in-memory pair,
/// with the pcap file and the fault pipe between device and stack.
@Suite(.timeLimit(.minutes(1)))
struct HostTests {
    @Test func aHostRefusesADeviceWithoutEthernetFraming() throws {
        let (l3, _) = try MemoryDevice.pair(capabilities: DeviceCapabilities(medium: .ip, mtu: 1500))
        let configuration = HostPair.configuration(0, faults: .none, pcapPath: nil) { _, _ in }
        #expect {
            _ = try Host(configuration: configuration, device: l3)
        } throws: { error in
            (error as? DriverError)?.code == EINVAL
        }
    }

    @Test func theHostKeepsItsDeviceAndItsCapabilities() async throws {
        try await HostPair.with { pair in
            #expect(pair.a.device === pair.deviceA)
            #expect(pair.a.device.capabilities == DeviceCapabilities(medium: .ethernet, mtu: 1500))
            #expect(pair.a.device.name == "memA")
        }
    }

    @Test func framesCrossTheMemoryDevicesInBothDirections() async throws {
        try await HostPair.with { pair in
            let server = try DatagramSocket(host: pair.b)
            try server.bind(port: 9100)
            let got = Blocking.start { try server.receiveFrom(timeout: .seconds(5)) }
            let client = try DatagramSocket(host: pair.a)
            try client.sendTo([1, 2, 3], address: HostPair.addressB, port: 9100)
            #expect(try await got.value.bytes == [1, 2, 3])
            // ARP request and reply, then the datagram: both ends moved frames, none dropped.
            #expect(pair.deviceA.transmitted >= 2)
            #expect(pair.deviceB.transmitted >= 1)
            #expect(pair.deviceA.drops == 0 && pair.deviceB.drops == 0)
        }
    }

    @Test func everyFrameSentOrReceivedGoesToThePcapFile() async throws {
        let path = NSTemporaryDirectory() + "tcpip-host-\(getpid())-\(UUID().uuidString).pcap"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await HostPair.with(pcapPath: path) { pair in
            let server = try DatagramSocket(host: pair.b)
            try server.bind(port: 9101)
            let got = Blocking.start { try server.receiveFrom(timeout: .seconds(5)) }
            let client = try DatagramSocket(host: pair.a)
            try client.sendTo(Array(repeating: 0xAB, count: 100), address: HostPair.addressB, port: 9101)
            _ = try await got.value
        }
        // Stopped: flushed.
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        // Header (24), three record headers (16 each), ARP request and reply (42), the datagram.
        let least = 24 + 3 * 16 + 42 + 42 + 142
        #expect(data.count >= least, "pcap has \(data.count) bytes")
        let magic = [UInt8](data.prefix(4))
        let microseconds: [UInt8] = [0xD4, 0xC3, 0xB2, 0xA1]
        let nanoseconds: [UInt8] = [0x4D, 0x3C, 0xB2, 0xA1]
        #expect(magic == microseconds || magic == nanoseconds)
    }

    /// Faults on the pipe between device and stack still apply: a stream transfer completes
    /// through loss and delay.
    @Test func theFaultPipeSitsBetweenDeviceAndStack() async throws {
        let faults = FaultConfiguration(loss: 0.05, delay: 1_000_000)
        try await HostPair.with(faults: faults) { pair in
            let (client, server) = try await StreamSocketTests.connectedPair(pair, port: 8100)
            let payload = (0..<50_000).map { UInt8(truncatingIfNeeded: $0) }
            let sending = Blocking.start { try client.write(payload) }
            let got = try await Blocking.run { try StreamSocketTests.read(server, count: payload.count) }
            try await sending.value
            #expect(got == payload)
            let start = ContinuousClock.now
            // The delay is there: a round trip takes at least the two one-way delays.
            try client.write([7])
            _ = try await Blocking.run { try StreamSocketTests.read(server, count: 1) }
            #expect(Blocking.seconds(since: start) >= 0.001)
            try client.close()
            try server.close()
        }
    }

    @Test func observersSeeSocketEventsOnTheOwnerThread() async throws {
        let seen = Locked<[SocketEvent]>([])
        let (d0, d1) = try MemoryDevice.pair()
        let none: (Int, inout HostConfiguration) -> Void = { _, _ in }
        let observed = try Host(
            configuration: HostPair.configuration(0, faults: .none, pcapPath: nil, none),
            device: d0
        )
        let peer = try Host(configuration: HostPair.configuration(1, faults: .none, pcapPath: nil, none), device: d1)
        observed.observe { event in seen.withLock { $0.append(event) } }
        try observed.start()
        try peer.start()
        let socket = try DatagramSocket(host: observed)
        try socket.bind(port: 9102)
        let got = Blocking.start { try socket.receiveFrom(timeout: .seconds(5)) }
        try DatagramSocket(host: peer).sendTo([9], address: HostPair.addressA, port: 9102)
        let datagram = try? await got.value
        _ = try await Blocking.run {
            observed.stop()
            peer.stop()
        }
        #expect(datagram?.bytes == [9])
        #expect(seen.withLock { events in events.contains { $0.descriptor == socket.fd } })
    }

    @Test func submitAfterStopCompletesWithNil() async throws {
        let pair = try HostPair()
        await pair.stop()
        let value = await withCheckedContinuation { (c: CheckedContinuation<Int?, Never>) in
            pair.a.submit(timeout: nil, attempt: { _, _ in 1 }, completion: { c.resume(returning: $0) })
        }
        #expect(value == nil)
    }
}
