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

extension Stack {
    /// The cached mapping for `address`, if any (for `netstat`-like views and tests).
    public func neighbor(_ address: IPv4Address) -> MACAddress? { neighbors.entries[address]?.mac }

    /// Handles a received ARP packet (RFC 826 "Packet Reception", RFC 1122 §2.3.2.1).
    mutating func arpInput(_ bytes: UnsafeRawBufferPointer, interface: Int, effects: inout Effects) {
        let arp: ARPPacket
        switch ARPPacket.parse(bytes) {
        case .success(let a): arp = a
        case .failure(let r): return drop(r)
        }
        if arp.operation == ARPOperation.request {
            counters.count(.arpRequestsIn)
        } else {
            counters.count(.arpRepliesIn)
        }
        let iface = interfaces[interface]
        // A sender claiming a group MAC or our own address is bogus (RFC 1122 §2.3.2.1 "ARP
        // cache validation"; RFC 5227 treats our own address as a conflict).
        if arp.senderMAC.isMulticast || arp.senderMAC == .zero || arp.senderIP == iface.address
            || arp.senderIP.isMulticast || arp.senderIP == .broadcast
        {
            return drop(.arpBadSender)
        }
        let learnable = !arp.senderIP.isUnspecified
        // RFC 826: "If the pair <protocol type, sender protocol address> is already in my
        // translation table, update the sender hardware address field of the entry with the new
        // information in the packet and set Merge_flag to true."
        var merged = false
        if learnable, neighbors.entries[arp.senderIP] != nil {
            learn(arp.senderIP, mac: arp.senderMAC, interface: interface, effects: &effects)
            merged = true
        }
        // RFC 826: "?Am I the target protocol address?" — if not, nothing more to do.
        guard arp.targetIP == iface.address else {
            if !merged { drop(.arpNotForUs) }
            return
        }
        if arp.operation == ARPOperation.request {
            // RFC 826: "If Merge_flag is false, add the triplet to the translation table."
            // Only for requests addressed to us: an unsolicited reply creates no entry.
            if !merged && learnable {
                learn(arp.senderIP, mac: arp.senderMAC, interface: interface, effects: &effects)
            }
            sendARP(
                operation: ARPOperation.reply,
                interface: interface,
                targetMAC: arp.senderMAC,
                targetIP: arp.senderIP,
                destinationMAC: arp.senderMAC,
                effects: &effects
            )
            trace(.arpReplySent(to: arp.senderIP, mac: iface.mac))
        } else if !merged {
            drop(.arpUnsolicitedReply)
        }
    }

    /// Enters or refreshes a mapping, and sends whatever waited for it.
    mutating func learn(_ address: IPv4Address, mac: MACAddress, interface: Int, effects: inout Effects) {
        let exists = neighbors.entries[address] != nil
        if !exists && neighbors.entries.count >= neighbors.maxEntries {
            // Full: forget the entry closest to expiry that has nothing queued.
            if let victim = neighbors.entries.filter({ $0.value.pending.isEmpty })
                .min(by: { ($0.value.expires, $0.key) < ($1.value.expires, $1.key) })?.key
            {
                neighbors.entries[victim] = nil
            } else {
                return
            }
        }
        var entry =
            neighbors.entries.removeValue(forKey: address) ?? NeighborCache.Entry(interface: interface, expires: now)
        if entry.mac != mac || !exists { trace(.arpLearned(address: address, mac: mac)) }
        // An incomplete entry (a request outstanding) gets its first mapping: that creates it.
        counters.count(entry.mac == nil ? .arpEntriesCreated : .arpEntriesUpdated)
        entry.mac = mac
        entry.interface = interface
        entry.expires = now.adding(nanoseconds: neighbors.lifetime)
        entry.requestsSent = 0
        entry.nextRequest = nil
        let pending = entry.pending
        entry.pending.removeAll()
        entry.pendingBytes = 0
        neighbors.entries[address] = entry
        let src = interfaces[interface].mac
        for p in pending {
            effects.frames.begin(headroom: EthernetHeader.size)
            p.bytes.withUnsafeBytes { effects.frames.append($0) }
            commitEthernet(
                source: src,
                destination: mac,
                etherType: EtherType.ipv4,
                interface: interface,
                effects: &effects
            )
        }
    }

    /// Prepends an Ethernet header to the frame being built and commits it.
    mutating func commitEthernet(
        source: MACAddress,
        destination: MACAddress,
        etherType: UInt16,
        interface: Int,
        effects: inout Effects
    ) {
        guard effects.frames.prepend(EthernetHeader.size) else {
            effects.frames.abort()
            return
        }
        effects.frames.withFrame { buf in
            EthernetHeader(destination: destination, source: source, etherType: etherType).write(to: buf, at: 0)
        }
        counters.count(.linkFramesOut)
        counters.count(.linkBytesOut, UInt64(effects.frames.length))
        effects.frames.commit(interface: interface)
    }

    /// Sends an ARP request or reply.
    mutating func sendARP(
        operation: UInt16,
        interface: Int,
        targetMAC: MACAddress,
        targetIP: IPv4Address,
        destinationMAC: MACAddress,
        effects: inout Effects
    ) {
        let iface = interfaces[interface]
        effects.frames.begin(headroom: EthernetHeader.size)
        effects.frames.appendZeros(ARPPacket.size)
        effects.frames.withFrame { buf in
            ARPPacket(
                operation: operation,
                senderMAC: iface.mac,
                senderIP: iface.address,
                targetMAC: targetMAC,
                targetIP: targetIP
            ).write(to: buf, at: 0)
        }
        counters.count(operation == ARPOperation.request ? .arpRequestsOut : .arpRepliesOut)
        commitEthernet(
            source: iface.mac,
            destination: destinationMAC,
            etherType: EtherType.arp,
            interface: interface,
            effects: &effects
        )
    }

    /// Broadcasts a request for `target` and schedules the next try (RFC 1122 §2.3.2.1: at most
    /// one request per second per destination).
    mutating func sendARPRequest(for target: IPv4Address, effects: inout Effects) {
        guard var e = neighbors.entries[target] else { return }
        e.requestsSent += 1
        e.nextRequest = now.adding(nanoseconds: neighbors.retryInterval)
        neighbors.entries[target] = e
        trace(.arpRequestSent(target: target, attempt: e.requestsSent))
        // A re-validation of a known mapping is unicast (RFC 1122 §2.3.2.1 "unicast poll").
        sendARP(
            operation: ARPOperation.request,
            interface: e.interface,
            targetMAC: .zero,
            targetIP: target,
            destinationMAC: e.mac ?? .broadcast,
            effects: &effects
        )
    }

    /// Resolves `nextHop` for the IP datagram being built in `effects.frames` and sends it, or
    /// queues a copy while the address resolves.
    mutating func linkOutputIPv4(interface: Int, nextHop: IPv4Address, owner: PacketOwner, effects: inout Effects) {
        let iface = interfaces[interface]
        if nextHop == .broadcast || (iface.network.prefixLength < 31 && nextHop == iface.network.broadcastAddress) {
            return commitEthernet(
                source: iface.mac,
                destination: .broadcast,
                etherType: EtherType.ipv4,
                interface: interface,
                effects: &effects
            )
        }
        if nextHop.isMulticast {
            // RFC 1112 §6.4: 01-00-5E plus the low 23 bits of the group address.
            let mac = MACAddress(rawValue: 0x0100_5E00_0000 | UInt64(nextHop.rawValue & 0x7F_FFFF))
            return commitEthernet(
                source: iface.mac,
                destination: mac,
                etherType: EtherType.ipv4,
                interface: interface,
                effects: &effects
            )
        }
        if var e = neighbors.entries[nextHop], let mac = e.mac {
            commitEthernet(
                source: iface.mac,
                destination: mac,
                etherType: EtherType.ipv4,
                interface: interface,
                effects: &effects
            )
            if e.expires <= now && e.nextRequest == nil {
                // Stale: keep using it, and re-validate it (RFC 1122 §2.3.2.1).
                e.requestsSent = 0
                neighbors.entries[nextHop] = e
                sendARPRequest(for: nextHop, effects: &effects)
            }
            return
        }
        // Unresolved: hold the datagram (RFC 1122 §2.3.2.2), oldest dropped when full.
        let copy = effects.frames.copyFrame()
        effects.frames.abort()
        var e =
            neighbors.entries.removeValue(forKey: nextHop) ?? NeighborCache.Entry(interface: interface, expires: now)
        let isNew = e.nextRequest == nil
        if isNew && neighbors.entries.count >= neighbors.maxEntries {
            drop(.arpPendingQueueFull)
            notifyUnreachable(owner, effects: &effects)
            return
        }
        e.pending.append(PendingPacket(bytes: copy, owner: owner))
        e.pendingBytes += copy.count
        counters.count(.arpQueued)
        while e.pending.count > neighbors.maxPending || e.pendingBytes > neighbors.maxPendingBytes {
            let old = e.pending.removeFirst()
            e.pendingBytes -= old.bytes.count
            drop(.arpPendingQueueFull)
        }
        let queued = e.pending.count
        neighbors.entries[nextHop] = e
        trace(.arpQueued(target: nextHop, queued: queued))
        if isNew { sendARPRequest(for: nextHop, effects: &effects) }
    }

    /// ARP timers: retries, giving up, forgetting stale entries.
    mutating func neighborTimers(effects: inout Effects) {
        guard let d = neighbors.nextDeadline, d <= now else { return }
        for address in neighbors.sortedAddresses {
            guard let e = neighbors.entries[address] else { continue }
            if let due = e.nextRequest {
                guard due <= now else { continue }
                if e.requestsSent >= neighbors.maxRequests {
                    // Resolution failed: drop what waited and tell the senders (RFC 1122 §2.3.2.2).
                    neighbors.entries[address] = nil
                    trace(.arpFailed(target: address, dropped: e.pending.count))
                    for p in e.pending {
                        drop(.arpResolutionFailed)
                        notifyUnreachable(p.owner, effects: &effects)
                    }
                } else {
                    sendARPRequest(for: address, effects: &effects)
                }
            } else if e.expires.adding(nanoseconds: neighbors.lifetime) <= now {
                counters.count(.arpEntriesExpired)
                neighbors.entries[address] = nil
            }
        }
    }
}
