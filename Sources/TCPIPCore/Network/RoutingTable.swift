/// The IPv4 routing table: longest-prefix match over routes, then a default gateway
/// (RFC 1122 §3.3.1).
public struct RoutingTable: Sendable {
    /// One route: a destination network, the interface, and the next hop (nil: on-link).
    public struct Route: Sendable, Equatable {
        /// Destination network (address with host bits ignored).
        public var destination: IPv4Network
        /// Outgoing interface index.
        public var interface: Int
        /// Gateway, or nil when the destination is directly attached.
        public var gateway: IPv4Address?

        /// Creates a route.
        public init(destination: IPv4Network, interface: Int, gateway: IPv4Address? = nil) {
            self.destination = destination
            self.interface = interface
            self.gateway = gateway
        }
    }

    /// Routes, kept sorted by decreasing prefix length so the first match is the longest.
    public private(set) var routes: [Route] = []

    /// An empty table.
    public init() {}

    /// Adds a route.
    public mutating func add(_ route: Route) {
        routes.append(route)
        // Stable: among equal prefixes the earlier route wins.
        routes = routes.enumerated().sorted {
            $0.element.destination.prefixLength != $1.element.destination.prefixLength
                ? $0.element.destination.prefixLength > $1.element.destination.prefixLength : $0.offset < $1.offset
        }.map(\.element)
    }

    /// The route for `destination` (longest prefix), or nil when there is none.
    public func lookup(_ destination: IPv4Address) -> (interface: Int, nextHop: IPv4Address)? {
        for r in routes where r.destination.contains(destination) {
            return (r.interface, r.gateway ?? destination)
        }
        return nil
    }
}
