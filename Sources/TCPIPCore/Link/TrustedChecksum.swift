/// Which transport checksum of the frame being received needs no software check, from the
/// device's offload flags (`FrameOffload`), as Linux's `skb->ip_summed`:
/// `VIRTIO_NET_HDR_F_NEEDS_CSUM` (CHECKSUM_PARTIAL: the frame never crossed a wire, the
/// checksum at `csum_start` was left for a device to fill in) and
/// `VIRTIO_NET_HDR_F_DATA_VALID` (CHECKSUM_UNNECESSARY: the device verified it).
///
/// Addresses are kept as integers and compared with the transport header's own, so the trust
/// reaches exactly the header the device described, in the frame's own bytes: a reassembled
/// datagram lives in other memory and is always checked in software.
struct TrustedChecksum: Sendable, Equatable {
    /// The first byte of the frame, and one past its last (`DATA_VALID`: any transport header
    /// inside it).
    var frameStart: UInt
    var frameEnd: UInt
    /// The transport header at `csum_start` (`NEEDS_CSUM`), or 0.
    var partialAt: UInt
    /// `DATA_VALID`.
    var verified: Bool

    /// Nothing trusted: every checksum is checked.
    static let none = TrustedChecksum(frameStart: 0, frameEnd: 0, partialAt: 0, verified: false)

    /// What `offload` vouches for in `frame`.
    init(frame: UnsafeRawBufferPointer, offload: FrameOffload) {
        guard let base = frame.baseAddress, !offload.isNone else {
            self = .none
            return
        }
        let start = UInt(bitPattern: base)
        let needs = offload.flags.contains(.needsChecksum) && Int(offload.checksumStart) < frame.count
        self.init(
            frameStart: start,
            frameEnd: start + UInt(frame.count),
            partialAt: needs ? start + UInt(offload.checksumStart) : 0,
            verified: offload.flags.contains(.dataValid)
        )
    }

    init(frameStart: UInt, frameEnd: UInt, partialAt: UInt, verified: Bool) {
        self.frameStart = frameStart
        self.frameEnd = frameEnd
        self.partialAt = partialAt
        self.verified = verified
    }

    /// True when the checksum of the transport header at `header` needs no check.
    func covers(_ header: UnsafeRawBufferPointer) -> Bool {
        guard let base = header.baseAddress else { return false }
        let at = UInt(bitPattern: base)
        if partialAt != 0 && at == partialAt { return true }
        return verified && at >= frameStart && at < frameEnd
    }
}
