import DequeModule

/// The ARP neighbour cache (RFC 826, RFC 1122 §2.3.2): IPv4 address → MAC, with aging,
/// re-validation, and a bounded queue of datagrams per address still resolving.
struct NeighborCache {
    struct Entry {
        var interface: Int
        /// The mapping; nil while the entry is incomplete (a request is outstanding).
        var mac: MACAddress?
        /// Until when the mapping is trusted without re-validation.
        var expires: Instant
        /// Requests sent in the current resolution or re-validation.
        var requestsSent = 0
        /// When the next request is due; nil when not resolving.
        var nextRequest: Instant?
        /// Datagrams waiting for the mapping (RFC 1122 §2.3.2.2), oldest first.
        var pending = Deque<PendingPacket>()
        var pendingBytes = 0
    }

    var entries: [IPv4Address: Entry] = [:]
    let lifetime: Int64
    let retryInterval: Int64
    let maxRequests: Int
    let maxPending: Int
    let maxPendingBytes: Int
    let maxEntries: Int

    init(configuration c: StackConfiguration) {
        lifetime = c.arpEntryLifetime
        retryInterval = c.arpRetryInterval
        maxRequests = max(1, c.arpMaxRequests)
        maxPending = max(1, c.arpPendingPackets)
        maxPendingBytes = c.arpPendingBytes
        maxEntries = max(1, c.arpMaxEntries)
    }

    /// The earliest time a request is due or a stale entry should be forgotten.
    var nextDeadline: Instant? {
        var d: Instant?
        for e in entries.values {
            let t: Instant
            if let r = e.nextRequest {
                t = r
            } else {
                t = e.expires.adding(nanoseconds: lifetime)
            }
            if d == nil || t < d! { d = t }
        }
        return d
    }

    /// The addresses in a stable order (dictionary order changes from run to run).
    var sortedAddresses: [IPv4Address] { entries.keys.sorted() }
}
