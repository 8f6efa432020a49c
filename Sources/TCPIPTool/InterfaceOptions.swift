import ArgumentParser
import TCPIP
import TCPIPCore
import TCPIPDrivers

/// The stack's link and addresses on a TAP interface (shared by `serve` and `ping`).
///
/// Values are taken as strings and checked in `makeHost`, so a malformed one is reported in
/// one `tcpip: …` line naming the flag.
struct InterfaceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The TAP interface to attach to (required).", valueName: "name"))
    var tap: String?

    @Option(help: ArgumentHelp("The stack's IPv4 address and prefix length (required).", valueName: "a.b.c.d/p"))
    var address: String?

    @Option(help: ArgumentHelp("The default gateway, on the interface's network.", valueName: "a.b.c.d"))
    var gateway: String?

    @Option(
        help: ArgumentHelp(
            "The stack's MAC address (default: 02:00 and the IPv4 address's four octets).",
            valueName: "xx:xx:xx:xx:xx:xx"
        )
    )
    var mac: String?

    @Option(help: ArgumentHelp("The interface's MTU (default: the TAP interface's).", valueName: "bytes"))
    var mtu: String?

    @Option(help: ArgumentHelp("Write every frame sent or received to this pcap file.", valueName: "file"))
    var pcap: String?

    @Option(help: ArgumentHelp("Seed of the stack's randomness (default: from the system).", valueName: "n"))
    var seed: String?

    @Option(
        help: ArgumentHelp(
            "Virtio-net offloads on the TAP: partial checksums and TCP super-frames from the kernel (default: on; off with fault injection).",
            valueName: "on|off"
        )
    )
    var offload: String?

    /// The checked network, gateway, MAC, MTU and seed.
    struct Checked {
        var tap: String
        var network: IPv4Network
        var gateway: IPv4Address?
        var mac: MACAddress
        var mtu: Int?
        var seed: UInt64?
    }

    /// Checks every value; fails naming the first malformed one.
    func check() throws(ToolFailure) -> Checked {
        guard let tap else { throw ToolFailure("missing --tap NAME: the TAP interface to attach to") }
        guard let address else { throw ToolFailure("missing --address A.B.C.D/P: the stack's address and prefix") }
        guard let network = IPv4Network(address) else {
            throw ToolFailure("invalid --address '\(address)': expected A.B.C.D/P, e.g. 10.99.0.2/24")
        }
        let a = network.address
        guard !a.isUnspecified, !a.isMulticast, !a.isLoopback, a != .broadcast else {
            throw ToolFailure("invalid --address '\(address)': \(a) cannot be a host's address")
        }
        var gw: IPv4Address?
        if let gateway {
            guard let g = IPv4Address(gateway) else {
                throw ToolFailure("invalid --gateway '\(gateway)': expected A.B.C.D")
            }
            guard network.contains(g), g != a else {
                throw ToolFailure(
                    "invalid --gateway '\(gateway)': not another host on \(network.networkAddress)/\(network.prefixLength)"
                )
            }
            gw = g
        }
        var hardware = MACAddress(
            0x02,
            0x00,
            UInt8(a.rawValue >> 24),
            UInt8((a.rawValue >> 16) & 255),
            UInt8((a.rawValue >> 8) & 255),
            UInt8(a.rawValue & 255)
        )
        if let mac {
            guard let m = MACAddress(mac) else {
                throw ToolFailure("invalid --mac '\(mac)': expected six hex octets like 02:00:0a:63:00:02")
            }
            guard !m.isMulticast, m != .zero else {
                throw ToolFailure("invalid --mac '\(mac)': a host's MAC address must be unicast and not zero")
            }
            hardware = m
        }
        let checkedMTU = try mtu.map { (s) throws(ToolFailure) in try Parse.integer(s, "--mtu", in: 68...65535) }
        let checkedSeed = try seed.map { (s) throws(ToolFailure) in
            try Parse.integer(s, "--seed", in: UInt64.min...UInt64.max)
        }
        return Checked(tap: tap, network: network, gateway: gw, mac: hardware, mtu: checkedMTU, seed: checkedSeed)
    }

    /// Checks the values, attaches to the TAP interface and makes a host on it (not started).
    /// Fails with one line: a malformed value, a TAP interface that is busy, missing or not
    /// permitted (the driver's message names the device and errno), or a pcap file that cannot
    /// be created.
    func makeHost(
        faults: FaultOptions,
        limits: LimitOptions? = nil
    ) throws(ToolFailure) -> (host: Host, interface: Interface) {
        let c = try check()
        let fault = try faults.configuration()
        // The fault injector moves bare frames, so it runs without offloads.
        let offloads: Bool
        switch offload {
        case nil: offloads = fault.faults.isNone
        case "on":
            guard fault.faults.isNone else {
                throw ToolFailure("invalid --offload on: fault injection needs --offload off (it moves bare frames)")
            }
            offloads = true
        case "off": offloads = false
        case let other?: throw ToolFailure("invalid --offload '\(other)': expected on or off")
        }
        let device: TAPDevice
        do {
            device = try TAPDevice(name: c.tap, offloads: offloads)
        } catch {
            throw ToolFailure(error.description)
        }
        let mtu = c.mtu ?? (try? device.interfaceInfo().mtu) ?? 1500
        device.mtu = mtu
        let interface = Interface(name: device.name, mac: c.mac, mtu: mtu, network: c.network)
        var stack = StackConfiguration(interfaces: [interface], gateway: c.gateway)
        try limits?.apply(to: &stack)
        var configuration = HostConfiguration(
            stack: stack,
            seed: c.seed,
            pcapPath: pcap
        )
        configuration.faults = fault.faults
        configuration.faultSeed = fault.seed
        do {
            return (try Host(configuration: configuration, device: device), interface)
        } catch {
            throw ToolFailure(error.description)
        }
    }
}
