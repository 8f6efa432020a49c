import Foundation
import TCPIP
import TCPIPCore
import TCPIPDrivers

/// The stack's host, not Foundation's.
typealias Host = TCPIP.Host

/// Two `Host`s joined by an in-memory device pair, in this process: A is 10.0.0.1/24, B is
/// 10.0.0.2/24, and nobody holds 10.0.0.77 (ARP for it goes unanswered). With `shortARP`, ARP
/// gives up fast (two requests 100 ms apart), so a test sees "unreachable" within `arpGiveUp`;
/// otherwise it keeps the stack's defaults, which a loaded machine (tests run in parallel on
/// two cores) cannot make time out by accident.
final class HostPair: Sendable {
    static let addressA = IPv4Address("10.0.0.1")!
    static let addressB = IPv4Address("10.0.0.2")!
    /// On the link, but nobody answers ARP for it.
    static let silentAddress = IPv4Address("10.0.0.77")!
    /// How long ARP takes to give up on an address with `shortARP`, with a margin (two
    /// requests 100 ms apart, then the last one's wait).
    static let arpGiveUp: Duration = .milliseconds(300)

    let a: Host
    let b: Host
    let deviceA: MemoryDevice
    let deviceB: MemoryDevice

    /// Makes and starts both hosts; `configure` adjusts each host's configuration (index 0: A).
    init(
        faults: FaultConfiguration = .none,
        pcapPath: String? = nil,
        shortARP: Bool = false,
        configure: (Int, inout HostConfiguration) -> Void = { _, _ in }
    ) throws {
        (deviceA, deviceB) = try MemoryDevice.pair(names: ("memA", "memB"))
        let tune: (Int, inout HostConfiguration) -> Void = { index, c in
            if shortARP {
                c.stack.arpRetryInterval = 100_000_000
                c.stack.arpMaxRequests = 2
            }
            configure(index, &c)
        }
        a = try Host(configuration: Self.configuration(0, faults: faults, pcapPath: pcapPath, tune), device: deviceA)
        b = try Host(configuration: Self.configuration(1, faults: faults, pcapPath: nil, tune), device: deviceB)
        try a.start()
        try b.start()
    }

    static func configuration(
        _ index: Int,
        faults: FaultConfiguration,
        pcapPath: String?,
        _ configure: (Int, inout HostConfiguration) -> Void
    ) -> HostConfiguration {
        let address = index == 0 ? addressA : addressB
        let interface = Interface(
            name: index == 0 ? "memA" : "memB",
            mac: MACAddress(0x02, 0x00, 0x0A, 0x00, 0x00, UInt8(index + 1)),
            mtu: 1500,
            network: IPv4Network(address: address, prefixLength: 24)
        )
        let stack = StackConfiguration(interfaces: [interface])
        var c = HostConfiguration(stack: stack, seed: UInt64(index + 1), pcapPath: pcapPath)
        c.faults = faults
        c.faultSeed = UInt64(index + 7)
        configure(index, &c)
        return c
    }

    /// Resolves A and B to each other (a datagram each way), so that later traffic between them
    /// waits for no ARP, however short its timings.
    func resolveNeighbors() async throws {
        let atA = try DatagramSocket(host: a)
        let atB = try DatagramSocket(host: b)
        try atA.bind(port: 65000)
        try atB.bind(port: 65000)
        // ARP may give up under load with short timings: try again (bounded).
        for (from, to, address) in [(atA, atB, Self.addressB), (atB, atA, Self.addressA)] {
            var arrived = false
            for _ in 0..<10 where !arrived {
                let got = Blocking.start { try to.receiveFrom(timeout: .seconds(1)) }
                // A give-up is reported by the socket's next call: `EHOSTUNREACH` here, then retry.
                _ = try? from.sendTo([1], address: address, port: 65000)
                arrived = (try? await got.value) != nil
            }
            guard arrived else { throw HostPairError("A and B cannot resolve each other") }
        }
        try atA.close()
        try atB.close()
    }

    /// Stops both hosts (on a thread of its own: `stop` waits for the owner threads).
    func stop() async {
        _ = try? await Blocking.run { [self] in
            a.stop()
            b.stop()
        }
    }

    /// Runs `body` with a started pair, then stops it, whether `body` succeeds or throws.
    @discardableResult
    static func with<T: Sendable>(
        faults: FaultConfiguration = .none,
        pcapPath: String? = nil,
        shortARP: Bool = false,
        configure: (Int, inout HostConfiguration) -> Void = { _, _ in },
        _ body: (HostPair) async throws -> T
    ) async throws -> T {
        let pair = try HostPair(faults: faults, pcapPath: pcapPath, shortARP: shortARP, configure: configure)
        do {
            let result = try await body(pair)
            await pair.stop()
            return result
        } catch {
            await pair.stop()
            throw error
        }
    }
}

/// A failure of the test pair itself.
struct HostPairError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
