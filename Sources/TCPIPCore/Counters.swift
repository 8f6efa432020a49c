/// The layers that keep counters, in the order `stats` lists them.
public enum Layer: String, CaseIterable, Sendable {
    case link, arp, ip, icmp, udp, tcp
}

/// Every reason the stack drops a frame, packet, datagram or segment. Each is counted
/// (like `netstat -s`); nothing is dropped silently. The case name starts with its layer.
public enum DropReason: Int, CaseIterable, Sendable, Error {
    // link
    case linkFrameTooShort, linkNotForUs, linkUnknownEtherType, linkInterfaceDown
    // arp (RFC 826)
    case arpTooShort, arpBadHardware, arpBadOperation, arpBadSender, arpNotForUs, arpUnsolicitedReply
    case arpPendingQueueFull, arpResolutionFailed
    // ip (RFC 791, RFC 1122 §3.2.1)
    case ipTooShort, ipBadVersion, ipBadHeaderLength, ipBadTotalLength, ipBadChecksum, ipBadOptions
    case ipBadSource, ipNotForUs, ipUnknownProtocol, ipNoRoute, ipFragmentBadLength, ipFragmentTooLarge
    case ipFragmentOverlap, ipFragmentDuplicate, ipReassemblyTimeout, ipReassemblyMemoryFull, ipFragmentNeededDF
    // icmp (RFC 792, RFC 1122 §3.2.2)
    case icmpTooShort, icmpBadChecksum, icmpUnknownType, icmpBadCode, icmpRateLimited, icmpErrorQuoteTooShort
    case icmpErrorUnmatched, icmpEchoReplyUnmatched
    // udp (RFC 768)
    case udpTooShort, udpBadLength, udpBadChecksum, udpNoPort, udpReceiveQueueFull, udpBroadcastNoPort
    // tcp (RFC 9293)
    case tcpTooShort, tcpBadDataOffset, tcpBadChecksum, tcpBadOptions, tcpNoSocket, tcpBroadcast
    case tcpListenRST, tcpListenNoSYN, tcpListenOverflow, tcpBadACKInSynSent, tcpRSTWithoutACK, tcpNoSYNInSynSent
    case tcpPAWS, tcpOutOfWindow, tcpNoACK, tcpAckUnsent, tcpAckTooOld, tcpOutOfOrderFull, tcpChallengeAckLimited,
        tcpOutOfWindowAckLimited, tcpSynQueueFull, tcpConnectionLimit, tcpMemoryLimit

    /// The layer the reason belongs to.
    public var layer: Layer { StatName.split(Self.caseNames[rawValue]).layer }

    /// The reason's `stats` key: the case name without its layer, in snake case
    /// (`ipBadChecksum` → `bad_checksum`).
    public var name: String { StatName.split(Self.caseNames[rawValue]).name }

    private static let caseNames: [String] = allCases.map { String(describing: $0) }
}

/// Counters of what each layer did (not drops).
public enum Counter: Int, CaseIterable, Sendable {
    case linkFramesIn, linkFramesOut, linkBytesIn, linkBytesOut, linkSuperFramesIn
    case arpRequestsIn, arpRepliesIn, arpRequestsOut, arpRepliesOut, arpEntriesCreated, arpEntriesUpdated
    case arpEntriesExpired, arpQueued, arpEvictions
    case ipPacketsIn, ipPacketsOut, ipDelivered, ipFragmentsIn, ipFragmentsOut, ipDatagramsFragmented
    case ipDatagramsReassembled, ipReassemblyEvictions
    case icmpIn, icmpOut, icmpEchoRequestsIn, icmpEchoRepliesOut, icmpEchoRequestsOut, icmpEchoRepliesIn
    case icmpDestUnreachableIn, icmpDestUnreachableOut, icmpTimeExceededIn, icmpTimeExceededOut, icmpErrorsToSockets
    case udpDatagramsIn, udpDatagramsOut, udpDelivered
    case tcpSegmentsIn, tcpSegmentsOut, tcpResetsOut, tcpResetsIn, tcpRetransmittedSegments, tcpRetransmitTimeouts
    case tcpFastRetransmits, tcpDuplicateAcksIn, tcpDuplicateSYN, tcpDelayedAcks, tcpCoalescedAcks
    case tcpOutOfOrderSegments
    case tcpChallengeAcks, tcpKeepaliveProbes, tcpWindowProbes, tcpTimeouts
    case tcpSynCookiesSent, tcpSynCookiesValidated, tcpSynCookiesFailed

    /// The layer the counter belongs to.
    public var layer: Layer { StatName.split(Self.caseNames[rawValue]).layer }

    /// The counter's `stats` key in snake case (`ipPacketsIn` → `packets_in`).
    public var name: String { StatName.split(Self.caseNames[rawValue]).name }

    private static let caseNames: [String] = allCases.map { String(describing: $0) }
}

/// The stack's counters: one slot per `Counter` and per `DropReason`, no allocation to count.
public struct Counters: Sendable {
    /// Counts per `Counter.rawValue`.
    public internal(set) var counts: [UInt64] = Array(repeating: 0, count: Counter.allCases.count)
    /// Counts per `DropReason.rawValue`.
    public internal(set) var drops: [UInt64] = Array(repeating: 0, count: DropReason.allCases.count)

    public init() {}

    /// Adds `n` to a counter.
    public mutating func count(_ c: Counter, _ n: UInt64 = 1) { counts[c.rawValue] &+= n }
    /// Counts one drop.
    public mutating func drop(_ r: DropReason) { drops[r.rawValue] &+= 1 }

    /// A counter's value.
    public subscript(_ c: Counter) -> UInt64 { counts[c.rawValue] }
    /// A drop reason's count.
    public subscript(_ r: DropReason) -> UInt64 { drops[r.rawValue] }

    /// The sum of all drops.
    public var totalDrops: UInt64 { drops.reduce(0, &+) }

    /// The counters of one layer as (name, value) pairs, in declaration order.
    public func counters(of layer: Layer) -> [(String, UInt64)] {
        Counter.allCases.filter { $0.layer == layer }.map { ($0.name, counts[$0.rawValue]) }
    }
    /// The drop counts of one layer as (reason name, value) pairs, in declaration order.
    public func drops(of layer: Layer) -> [(String, UInt64)] {
        DropReason.allCases.filter { $0.layer == layer }.map { ($0.name, drops[$0.rawValue]) }
    }
}

/// Turns a counter's case name into its layer and `stats` key: the layer prefix is cut, the
/// rest goes to snake case with acronyms kept whole (`tcpDuplicateSYN` → `tcp`,
/// `duplicate_syn`; `tcpBadACKInSynSent` → `bad_ack_in_syn_sent`).
enum StatName {
    static func split(_ caseName: String) -> (layer: Layer, name: String) {
        let layer = Layer.allCases.first { caseName.hasPrefix($0.rawValue) } ?? .link
        let rest = Array(caseName.dropFirst(layer.rawValue.count))
        var out = ""
        for (i, ch) in rest.enumerated() {
            if ch.isUppercase && i > 0 {
                let prev = rest[i - 1]
                let nextIsLower = i + 1 < rest.count && rest[i + 1].isLowercase
                if prev.isLowercase || prev.isNumber || (prev.isUppercase && nextIsLower) { out.append("_") }
            }
            out.append(contentsOf: ch.lowercased())
        }
        return (layer, out)
    }
}
