/// What a network device can do, declared by the device and read by whoever feeds it frames:
/// its framing, its MTU and the offloads it performs (as smoltcp's `DeviceCapabilities`).
///
/// A device that declares no offload (`.init(medium:mtu:)`) moves ordinary frames only: every
/// frame at most `maxFrameLength` bytes, every checksum complete, every `FrameOffload` `.none`.
/// Each offload it declares is a permission for the stack to hand it, or a promise that it may
/// hand the stack, frames with the matching `FrameOffload` metadata.
public struct DeviceCapabilities: Sendable, Hashable {
    /// How frames are framed on the device.
    public enum Medium: Sendable, Hashable {
        /// L2: every frame starts with an Ethernet header (a TAP interface, a NIC).
        case ethernet
        /// L3: every frame is a bare IP datagram (a TUN interface, a point-to-point link).
        case ip
    }

    /// The segmentations a device performs, as a set of `FrameOffload.SegmentationType`s.
    public struct Segmentation: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8

        /// Creates a set from its raw bits.
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// TCP over IPv4 (`VIRTIO_NET_HDR_GSO_TCPV4`, `NETIF_F_TSO`).
        public static let tcpIPv4 = Segmentation(rawValue: 1 << 0)
        /// TCP over IPv6 (`VIRTIO_NET_HDR_GSO_TCPV6`, `NETIF_F_TSO6`).
        public static let tcpIPv6 = Segmentation(rawValue: 1 << 1)
        /// UDP segmentation (`VIRTIO_NET_HDR_GSO_UDP_L4`, `NETIF_F_GSO_UDP_L4`).
        public static let udpL4 = Segmentation(rawValue: 1 << 2)

        /// Whether the set holds `type` (`.none` is always supported).
        public func supports(_ type: FrameOffload.SegmentationType) -> Bool {
            switch type {
            case .none: return true
            case .tcpIPv4: return contains(.tcpIPv4)
            case .tcpIPv6: return contains(.tcpIPv6)
            case .udpL4: return contains(.udpL4)
            case .udpFragmentation: return false
            }
        }
    }

    /// L2 (Ethernet) or L3 (IP) framing.
    public var medium: Medium
    /// The largest IP datagram the link carries in one frame, in bytes (1500 on Ethernet),
    /// as an interface's MTU counts it: without the link header.
    public var mtu: Int
    /// Receive checksum offload: frames may arrive marked `FrameOffload.Flags.dataValid`.
    public var receiveChecksumOffload: Bool
    /// Transmit checksum offload: frames may leave marked `needsChecksum`, with a partial
    /// checksum the device completes.
    public var transmitChecksumOffload: Bool
    /// Transmit segmentation offload (TSO/USO): the super-frames the device cuts into segments
    /// of `FrameOffload.segmentSize`. Needs `transmitChecksumOffload`, as on Linux.
    public var transmitSegmentation: Segmentation
    /// Receive coalescing (GRO/LRO): frames may arrive as super-frames of these types, above
    /// the MTU, describing the segments they were merged from.
    public var receiveCoalescing: Segmentation
    /// The largest super-frame the device takes or gives with segmentation, headers included
    /// (65535 + the link header on Linux); `maxFrameLength` without.
    public var maxSegmentedFrameLength: Int
    /// The number of receive/transmit queue pairs (multiqueue TAP, RSS); frames of one flow
    /// stay on one queue.
    public var queueCount: Int

    /// A device of `medium` carrying `mtu`-byte datagrams, with no offload and one queue.
    public init(
        medium: Medium,
        mtu: Int,
        receiveChecksumOffload: Bool = false,
        transmitChecksumOffload: Bool = false,
        transmitSegmentation: Segmentation = [],
        receiveCoalescing: Segmentation = [],
        maxSegmentedFrameLength: Int? = nil,
        queueCount: Int = 1
    ) {
        self.medium = medium
        self.mtu = mtu
        self.receiveChecksumOffload = receiveChecksumOffload
        self.transmitChecksumOffload = transmitChecksumOffload
        self.transmitSegmentation = transmitSegmentation
        self.receiveCoalescing = receiveCoalescing
        self.queueCount = max(1, queueCount)
        let header = medium == .ethernet ? Self.ethernetHeaderLength : 0
        self.maxSegmentedFrameLength = maxSegmentedFrameLength ?? (65535 + header)
    }

    /// The length of an Ethernet header without VLAN tag: two addresses and the EtherType.
    public static let ethernetHeaderLength = 14

    /// The longest ordinary frame in bytes: the MTU plus the link header (14 bytes on
    /// Ethernet, none on an IP link). Frames above it carry segmentation metadata.
    public var maxFrameLength: Int { mtu + (medium == .ethernet ? Self.ethernetHeaderLength : 0) }

    /// True when the device performs no offload at all: every frame is ordinary.
    public var hasNoOffloads: Bool {
        !receiveChecksumOffload && !transmitChecksumOffload && transmitSegmentation.isEmpty
            && receiveCoalescing.isEmpty
    }

    /// Whether the device accepts `offload` on a transmitted frame: its checksum request and
    /// its segmentation type.
    public func acceptsTransmit(_ offload: FrameOffload) -> Bool {
        if offload.flags.contains(.needsChecksum) && !transmitChecksumOffload { return false }
        if offload.isSegmented && !(transmitChecksumOffload && transmitSegmentation.supports(offload.segmentationType))
        {
            return false
        }
        return true
    }
}
