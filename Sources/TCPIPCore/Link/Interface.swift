/// A network interface as the stack sees it: a MAC address, an MTU and an IPv4 address with
/// its prefix.
public struct Interface: Sendable {
    /// The interface's name (`tap0`, `wire0`).
    public var name: String
    /// Its Ethernet address.
    public var mac: MACAddress
    /// The largest IP datagram it carries, in bytes (1500 on Ethernet).
    public var mtu: Int
    /// Its IPv4 address and the prefix of the attached network.
    public var network: IPv4Network

    /// Creates an interface.
    public init(name: String, mac: MACAddress, mtu: Int = 1500, network: IPv4Network) {
        self.name = name
        self.mac = mac
        self.mtu = max(68, min(mtu, 65535))  // RFC 791: every host must accept 68-byte datagrams
        self.network = network
    }

    /// The interface's own address.
    public var address: IPv4Address { network.address }
}
