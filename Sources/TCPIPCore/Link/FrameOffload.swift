/// The offload metadata of one frame between a device and the stack: which work the frame
/// still needs (a checksum to fill in, a segmentation to do) or which work the device already
/// did (a checksum it verified).
///
/// The fields are those of Linux's `struct virtio_net_hdr`, the header TUN/TAP (with
/// `IFF_VNET_HDR`), vhost and virtio-net devices put in front of every frame, so a driver can
/// translate it field for field:
///
/// ```c
/// struct virtio_net_hdr {
///     u8 flags;          // NEEDS_CSUM 1, DATA_VALID 2
///     u8 gso_type;       // NONE 0, TCPV4 1, UDP 3, TCPV6 4, UDP_L4 5; | ECN 0x80
///     le16 hdr_len;      // bytes of headers in front of the payload (Ethernet to transport)
///     le16 gso_size;     // payload bytes per segment
///     le16 csum_start;   // where the checksummed range begins
///     le16 csum_offset;  // where the checksum goes, from csum_start
/// };
/// ```
///
/// Offsets count from the first byte of the frame the device moves (the Ethernet header on an
/// L2 device, the IP header on an L3 one). `.none` — no flags, no segmentation — describes an
/// ordinary frame whose checksums are complete and unverified: what every frame is until the
/// stack and its devices negotiate offloads (`DeviceCapabilities`).
public struct FrameOffload: Sendable, Hashable {
    /// `virtio_net_hdr.flags`.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8

        /// Creates flags from `virtio_net_hdr.flags`.
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum from `checksumStart` to the end is not
        /// computed yet; the field at `checksumStart + checksumOffset` holds the pseudo-header
        /// sum only (a partial checksum), and the device completes it.
        public static let needsChecksum = Flags(rawValue: 1)
        /// `VIRTIO_NET_HDR_F_DATA_VALID`: on receive, the device verified the checksums, so the
        /// stack need not.
        public static let dataValid = Flags(rawValue: 2)
    }

    /// `virtio_net_hdr.gso_type` without its ECN bit: the segmentation a frame larger than the
    /// MTU asks for (on transmit, TSO/USO) or went through (on receive, GRO/LRO).
    public enum SegmentationType: UInt8, Sendable, Hashable, CaseIterable {
        /// `VIRTIO_NET_HDR_GSO_NONE`: an ordinary frame.
        case none = 0
        /// `VIRTIO_NET_HDR_GSO_TCPV4`: TCP over IPv4, cut into `segmentSize`-byte segments.
        case tcpIPv4 = 1
        /// `VIRTIO_NET_HDR_GSO_UDP`: UDP fragmentation offload (UFO; deprecated by Linux).
        case udpFragmentation = 3
        /// `VIRTIO_NET_HDR_GSO_TCPV6`: TCP over IPv6.
        case tcpIPv6 = 4
        /// `VIRTIO_NET_HDR_GSO_UDP_L4`: UDP segmentation (USO), one datagram per segment.
        case udpL4 = 5
    }

    /// `VIRTIO_NET_HDR_GSO_ECN`, the bit `gso_type` carries besides the type.
    public static let ecnBit: UInt8 = 0x80

    /// `flags`: checksum work to do (transmit) or done (receive).
    public var flags: Flags
    /// `gso_type`: the segmentation the frame asks for or went through.
    public var segmentationType: SegmentationType
    /// The ECN bit of `gso_type`: the segments carry a TCP CWR flag on their first segment only.
    public var ecn: Bool
    /// `hdr_len`: the bytes of headers (link, network, transport) in front of the payload, which
    /// every segment repeats.
    public var headerLength: UInt16
    /// `gso_size`: payload bytes per segment (the MSS for TCP); 0 without segmentation.
    public var segmentSize: UInt16
    /// `csum_start`: where the range a `needsChecksum` frame still needs summed begins.
    public var checksumStart: UInt16
    /// `csum_offset`: where the checksum goes, counted from `checksumStart` (16 for TCP, 6 for
    /// UDP).
    public var checksumOffset: UInt16

    /// Metadata with every field given.
    public init(
        flags: Flags = [],
        segmentationType: SegmentationType = .none,
        ecn: Bool = false,
        headerLength: UInt16 = 0,
        segmentSize: UInt16 = 0,
        checksumStart: UInt16 = 0,
        checksumOffset: UInt16 = 0
    ) {
        self.flags = flags
        self.segmentationType = segmentationType
        self.ecn = ecn
        self.headerLength = headerLength
        self.segmentSize = segmentSize
        self.checksumStart = checksumStart
        self.checksumOffset = checksumOffset
    }

    /// An ordinary frame: complete checksums, nothing verified, no segmentation.
    public static let none = FrameOffload()

    /// True for `.none`: the frame asks for and reports nothing.
    public var isNone: Bool { self == .none }

    /// True when the frame is a super-frame that must be (or was) cut into segments.
    public var isSegmented: Bool { segmentationType != .none }

    /// The size of `struct virtio_net_hdr` in bytes.
    public static let virtioHeaderLength = 10

    /// Decodes a `struct virtio_net_hdr` (little-endian, as virtio 1.0 and TUN on little-endian
    /// hosts use) from the first 10 bytes of `bytes`; nil when fewer are given or `gso_type`
    /// names an unknown type.
    public init?(virtioHeader bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.virtioHeaderLength,
            let type = SegmentationType(rawValue: bytes[1] & ~Self.ecnBit)
        else { return nil }
        func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        self.init(
            flags: Flags(rawValue: bytes[0]),
            segmentationType: type,
            ecn: bytes[1] & Self.ecnBit != 0,
            headerLength: u16(2),
            segmentSize: u16(4),
            checksumStart: u16(6),
            checksumOffset: u16(8)
        )
    }

    /// Encodes the metadata as a `struct virtio_net_hdr` (little-endian) into the first 10
    /// bytes of `bytes`, which must hold at least that many.
    public func writeVirtioHeader(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.virtioHeaderLength, "a virtio_net_hdr needs 10 bytes")
        func put(_ value: UInt16, _ at: Int) {
            bytes[at] = UInt8(truncatingIfNeeded: value)
            bytes[at + 1] = UInt8(truncatingIfNeeded: value >> 8)
        }
        bytes[0] = flags.rawValue
        bytes[1] = segmentationType.rawValue | (ecn ? Self.ecnBit : 0)
        put(headerLength, 2)
        put(segmentSize, 4)
        put(checksumStart, 6)
        put(checksumOffset, 8)
    }
}
