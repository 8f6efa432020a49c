/// TCP option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018).
public enum TCPOptionKind {
    /// End of Option List (RFC 9293 §3.2).
    public static let endOfOptionList: UInt8 = 0
    /// No-Operation (RFC 9293 §3.2).
    public static let noOperation: UInt8 = 1
    /// Maximum Segment Size, length 4 (RFC 9293 §3.2).
    public static let maximumSegmentSize: UInt8 = 2
    /// Window Scale, length 3 (RFC 7323 §2.2).
    public static let windowScale: UInt8 = 3
    /// SACK-Permitted, length 2 (RFC 2018 §2).
    public static let sackPermitted: UInt8 = 4
    /// SACK, length 2 + 8n (RFC 2018 §3).
    public static let sack: UInt8 = 5
    /// Timestamps, length 10 (RFC 7323 §3.2).
    public static let timestamps: UInt8 = 8
}

/// Up to four SACK blocks (RFC 2018 §3), stored inline: no allocation.
///
/// Each block is `(left, right)`: the first sequence number of a received block and the
/// sequence number just past it. Blocks keep the order they were added or received in
/// (RFC 2018 §4: the first block reports the most recently received segment).
public struct SACKBlocks: RandomAccessCollection, Hashable, Sendable {
    /// The most blocks an option can carry: (40 - 2) / 8.
    public static let capacity = 4

    /// The number of blocks, 0…4.
    @inlinable public var count: Int { storedCount }
    @usableFromInline var storedCount: Int = 0
    @usableFromInline var l0: UInt32 = 0, r0: UInt32 = 0, l1: UInt32 = 0, r1: UInt32 = 0
    @usableFromInline var l2: UInt32 = 0, r2: UInt32 = 0, l3: UInt32 = 0, r3: UInt32 = 0

    /// No blocks.
    @inlinable public init() {}

    /// The position of the first block: 0.
    @inlinable public var startIndex: Int { 0 }
    /// The position past the last block: `count`.
    @inlinable public var endIndex: Int { count }

    /// The block at `index` (0 ≤ index < count).
    @inlinable public subscript(index: Int) -> (left: UInt32, right: UInt32) {
        precondition(index >= 0 && index < storedCount, "SACK block index out of range")
        switch index {
        case 0: return (l0, r0)
        case 1: return (l1, r1)
        case 2: return (l2, r2)
        default: return (l3, r3)
        }
    }

    /// Adds a block at the end; returns false (and adds nothing) when four are already held.
    @inlinable @discardableResult public mutating func append(left: UInt32, right: UInt32) -> Bool {
        switch count {
        case 0: (l0, r0) = (left, right)
        case 1: (l1, r1) = (left, right)
        case 2: (l2, r2) = (left, right)
        case 3: (l3, r3) = (left, right)
        default: return false
        }
        storedCount += 1
        return true
    }

    /// Removes every block.
    @inlinable public mutating func removeAll() { self = SACKBlocks() }
}

/// The TCP options the stack speaks, decoded (RFC 9293 §3.2, RFC 7323, RFC 2018).
///
/// A value describes the options of one segment; `encodedLength` and `write` lay them out the
/// way Linux does, so captures of both stacks line up:
/// MSS, then SACK-permitted fused with timestamps (`04 02 08 0a` …), then `01 03 03 ws`, then
/// `01 01 05 len` and the SACK blocks. A data segment with timestamps thus carries
/// `01 01 08 0a` and the two values.
public struct TCPOptions: Hashable, Sendable {
    /// The Timestamps option's two values (RFC 7323 §3.2).
    public struct Timestamps: Hashable, Sendable {
        /// TSval: the sender's timestamp clock.
        public var value: UInt32
        /// TSecr: the TSval echoed back (meaningful when ACK is set).
        public var echoReply: UInt32

        /// Creates the option's values.
        @inlinable public init(value: UInt32, echoReply: UInt32) {
            self.value = value
            self.echoReply = echoReply
        }
    }

    /// The largest option area: a 60-byte header less the 20 fixed bytes.
    public static let maximumLength = 40

    /// Maximum Segment Size (RFC 9293 §3.7.1), sent on SYNs.
    public var mss: UInt16?
    /// Window Scale shift count (RFC 7323 §2), sent on SYNs. Sent as given; RFC 7323 §2.3
    /// clamping of values above 14 is the receiver's business.
    public var windowScale: UInt8?
    /// SACK-Permitted (RFC 2018 §2), sent on SYNs.
    public var sackPermitted: Bool
    /// SACK blocks (RFC 2018 §3).
    public var sackBlocks: SACKBlocks
    /// Timestamps (RFC 7323 §3).
    public var timestamps: Timestamps?

    /// Creates a set of options; with no arguments, none.
    @inlinable public init(
        mss: UInt16? = nil,
        windowScale: UInt8? = nil,
        sackPermitted: Bool = false,
        sackBlocks: SACKBlocks = SACKBlocks(),
        timestamps: Timestamps? = nil
    ) {
        self.mss = mss
        self.windowScale = windowScale
        self.sackPermitted = sackPermitted
        self.sackBlocks = sackBlocks
        self.timestamps = timestamps
    }

    /// True when no option is present.
    @inlinable public var isEmpty: Bool {
        mss == nil && windowScale == nil && !sackPermitted && sackBlocks.isEmpty && timestamps == nil
    }

    /// Parses the option area of a TCP header (the bytes from offset 20 to the data offset).
    ///
    /// RFC 9293 §3.2: options are a kind byte, and for every kind but EOL (0) and NOP (1) a
    /// length byte that counts the kind and length bytes. EOL ends the list. An option whose
    /// length byte is missing, below 2, or runs past the area fails with `.tcpBadOptions`
    /// (RFC 9293 §3.2, MUST-7: "MUST be prepared to handle an illegal option length"). Unknown
    /// kinds are skipped (RFC 9293 §3.2, MUST-6: "MUST ignore without error any TCP Option it
    /// does not implement"). A known option with the wrong length is ignored, as Linux does: MSS must be
    /// 4 long, Window Scale 3, SACK-Permitted 2, Timestamps 10, SACK 2 + 8n with n = 1…4. Each
    /// step advances at least one byte, so the walk takes at most `bytes.count` iterations.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<TCPOptions, DropReason> {
        var options = TCPOptions()
        let end = bytes.count
        var i = 0
        while i < end {
            let kind = bytes[i]
            if kind == TCPOptionKind.endOfOptionList { break }
            if kind == TCPOptionKind.noOperation {
                i += 1
                continue
            }
            guard end - i >= 2 else { return .failure(.tcpBadOptions) }
            let length = Int(bytes[i + 1])
            guard length >= 2, length <= end - i else { return .failure(.tcpBadOptions) }
            switch kind {
            case TCPOptionKind.maximumSegmentSize where length == 4:
                // RFC 9293 §3.2: Kind 2, Length 4, a 16-bit MSS.
                options.mss = bytes.be16(i + 2)
            case TCPOptionKind.windowScale where length == 3:
                // RFC 7323 §2.2: Kind 3, Length 3, shift.cnt.
                options.windowScale = bytes[i + 2]
            case TCPOptionKind.sackPermitted where length == 2:
                // RFC 2018 §2: Kind 4, Length 2.
                options.sackPermitted = true
            case TCPOptionKind.sack where length >= 10 && length <= 34 && (length - 2) % 8 == 0:
                // RFC 2018 §3: Kind 5, Length 2 + 8n; 40 bytes of option space cap n at 4.
                options.sackBlocks.removeAll()
                var j = i + 2
                while j + 8 <= i + length {
                    options.sackBlocks.append(left: bytes.be32(j), right: bytes.be32(j + 4))
                    j += 8
                }
            case TCPOptionKind.timestamps where length == 10:
                // RFC 7323 §3.2: Kind 8, Length 10, TSval, TSecr.
                options.timestamps = Timestamps(value: bytes.be32(i + 2), echoReply: bytes.be32(i + 6))
            default:
                break  // unknown kind, or a known kind with a wrong length: skipped
            }
            i += length
        }
        return .success(options)
    }

    /// The number of SACK blocks `write` sends: as many as fit in the 40 bytes beside the
    /// other options (Linux sends at most 3 next to timestamps).
    @inlinable public var encodedSACKBlockCount: Int {
        guard !sackBlocks.isEmpty else { return 0 }
        let room = Self.maximumLength - encodedLengthWithoutSACK - 4
        return room < 8 ? 0 : min(sackBlocks.count, room / 8)
    }

    @inlinable var encodedLengthWithoutSACK: Int {
        var n = 0
        if mss != nil { n += 4 }
        if timestamps != nil {
            n += 12  // 04 02 or 01 01, then 08 0a and 8 bytes
        } else if sackPermitted {
            n += 4  // 01 01 04 02
        }
        if windowScale != nil { n += 4 }  // 01 03 03 ws
        return n
    }

    /// The bytes `write` produces: a multiple of 4 (RFC 9293 §3.1: the header "ends on a 32-bit
    /// boundary"), at most 40.
    @inlinable public var encodedLength: Int {
        let blocks = encodedSACKBlockCount
        return encodedLengthWithoutSACK + (blocks == 0 ? 0 : 4 + 8 * blocks)
    }

    /// Writes the options at `offset`, padded with NOPs to a multiple of 4, in Linux's layout
    /// (see the type's documentation), and returns the number of bytes written
    /// (`encodedLength`). The caller guarantees the room. SACK blocks that do not fit are left
    /// out, the first ones kept (RFC 2018 §4).
    @inlinable @discardableResult
    public func write(to buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var i = offset
        if let mss {
            buffer[i] = TCPOptionKind.maximumSegmentSize
            buffer[i + 1] = 4
            buffer.setBE16(i + 2, mss)
            i += 4
        }
        if let timestamps {
            if sackPermitted {
                buffer[i] = TCPOptionKind.sackPermitted
                buffer[i + 1] = 2
            } else {
                buffer[i] = TCPOptionKind.noOperation
                buffer[i + 1] = TCPOptionKind.noOperation
            }
            buffer[i + 2] = TCPOptionKind.timestamps
            buffer[i + 3] = 10
            buffer.setBE32(i + 4, timestamps.value)
            buffer.setBE32(i + 8, timestamps.echoReply)
            i += 12
        } else if sackPermitted {
            buffer[i] = TCPOptionKind.noOperation
            buffer[i + 1] = TCPOptionKind.noOperation
            buffer[i + 2] = TCPOptionKind.sackPermitted
            buffer[i + 3] = 2
            i += 4
        }
        if let windowScale {
            buffer[i] = TCPOptionKind.noOperation
            buffer[i + 1] = TCPOptionKind.windowScale
            buffer[i + 2] = 3
            buffer[i + 3] = windowScale
            i += 4
        }
        let blocks = encodedSACKBlockCount
        if blocks > 0 {
            buffer[i] = TCPOptionKind.noOperation
            buffer[i + 1] = TCPOptionKind.noOperation
            buffer[i + 2] = TCPOptionKind.sack
            buffer[i + 3] = UInt8(truncatingIfNeeded: 2 + 8 * blocks)
            i += 4
            for k in 0..<blocks {
                let block = sackBlocks[k]
                buffer.setBE32(i, block.left)
                buffer.setBE32(i + 4, block.right)
                i += 8
            }
        }
        return i - offset
    }
}
