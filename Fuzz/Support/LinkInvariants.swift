@testable import TCPIPCore

/// The neighbour cache's bounds and bookkeeping (RFC 1122 §2.3.2): at most `maxEntries`
/// entries; per entry at most `maxPending` datagrams and `maxPendingBytes` bytes held, counted
/// exactly; a resolved entry holds nothing; an unresolved one has a request scheduled, and no
/// more requests sent than allowed.
enum LinkInvariants {
    /// Checks the cache. With `timersRan`, nothing in it may be due at `now`.
    static func check(_ cache: NeighborCache, now: Instant, interfaces: Int, timersRan: Bool = true) {
        require(cache.entries.count <= cache.maxEntries, "\(cache.entries.count) neighbour entries")
        for (address, e) in cache.entries {
            require(e.interface >= 0 && e.interface < interfaces, "\(address) on interface \(e.interface)")
            require(e.pending.count <= cache.maxPending, "\(e.pending.count) datagrams wait for \(address)")
            require(e.pendingBytes == e.pending.reduce(0) { $0 + $1.bytes.count }, "pending bytes of \(address)")
            require(e.pendingBytes <= cache.maxPendingBytes, "\(e.pendingBytes) bytes wait for \(address)")
            require(e.requestsSent <= cache.maxRequests, "\(e.requestsSent) requests for \(address)")
            if let mac = e.mac {
                require(e.pending.isEmpty, "a resolved entry for \(address) holds datagrams")
                require(!mac.isMulticast && mac != .zero, "\(address) mapped to \(mac)")
            } else {
                require(e.nextRequest != nil, "an unresolved entry for \(address) without a request due")
            }
            if timersRan, let due = e.nextRequest { require(due > now, "a request for \(address) overdue") }
        }
    }
}
