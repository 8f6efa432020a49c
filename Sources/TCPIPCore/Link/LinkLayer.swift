import DequeModule

/// The link layer: Ethernet II framing and ARP neighbour resolution (RFC 826, RFC 1122
/// §2.3.2) for every interface. It owns the neighbour cache; it hands received IPv4 datagrams
/// up to the stack by returning them, and reports datagrams it could not deliver by naming
/// their owners — it never touches a transport's or a socket's state.
///
/// Below, the `Effects` frame queue is the device boundary: each frame is committed with its
/// interface index for whatever `NetworkDevice` carries that interface.
struct LinkLayer {
    /// IPv4 address → MAC, with the datagrams waiting for a mapping.
    private(set) var neighbors: NeighborCache

    init(configuration: StackConfiguration) {
        neighbors = NeighborCache(configuration: configuration)
    }

    /// A received frame's IPv4 datagram, for the network layer.
    struct Delivery {
        /// The Ethernet payload (the datagram, perhaps with link padding after it).
        var payload: UnsafeRawBufferPointer
        /// True when the frame was sent to the link broadcast address.
        var linkBroadcast: Bool
    }

    /// The MAC cached for `address`, if resolved.
    func mapping(for address: IPv4Address) -> MACAddress? { neighbors.entries[address]?.mac }

    /// The earliest time ARP has work to do (a request due, a stale entry to forget).
    var nextDeadline: Instant? { neighbors.nextDeadline }

    /// Ethernet II input: validate, filter by destination, demultiplex by EtherType. ARP is
    /// handled here; an IPv4 datagram is returned for the network layer.
    mutating func input(
        frame: UnsafeRawBufferPointer,
        interface: Int,
        ctx: inout LayerContext,
        effects: inout Effects
    ) -> Delivery? {
        ctx.count(.linkFramesIn)
        ctx.count(.linkBytesIn, UInt64(frame.count))
        guard interface >= 0 && interface < ctx.interfaces.count else {
            ctx.drop(.linkInterfaceDown)
            return nil
        }
        let eth: EthernetHeader
        switch EthernetHeader.parse(frame) {
        case .success(let h): eth = h
        case .failure(let r):
            ctx.drop(r)
            return nil
        }
        let linkBroadcast = eth.destination.isBroadcast
        guard linkBroadcast || eth.destination == ctx.interfaces[interface].mac else {
            ctx.drop(.linkNotForUs)
            return nil
        }
        let payload = UnsafeRawBufferPointer(rebasing: frame[EthernetHeader.size...])
        switch eth.etherType {
        case EtherType.ipv4: return Delivery(payload: payload, linkBroadcast: linkBroadcast)
        case EtherType.arp: arpInput(payload, interface: interface, ctx: &ctx, effects: &effects)
        default: ctx.drop(.linkUnknownEtherType)
        }
        return nil
    }

    /// Handles a received ARP packet (RFC 826 "Packet Reception", RFC 1122 §2.3.2.1).
    private mutating func arpInput(
        _ bytes: UnsafeRawBufferPointer,
        interface: Int,
        ctx: inout LayerContext,
        effects: inout Effects
    ) {
        let arp: ARPPacket
        switch ARPPacket.parse(bytes) {
        case .success(let a): arp = a
        case .failure(let r): return ctx.drop(r)
        }
        if arp.operation == ARPOperation.request {
            ctx.count(.arpRequestsIn)
        } else {
            ctx.count(.arpRepliesIn)
        }
        let iface = ctx.interfaces[interface]
        // A sender claiming a group MAC or our own address is bogus (RFC 1122 §2.3.2.1 "ARP
        // cache validation"; RFC 5227 treats our own address as a conflict).
        if arp.senderMAC.isMulticast || arp.senderMAC == .zero || arp.senderIP == iface.address
            || arp.senderIP.isMulticast || arp.senderIP == .broadcast
        {
            return ctx.drop(.arpBadSender)
        }
        let learnable = !arp.senderIP.isUnspecified
        // RFC 826: "If the pair <protocol type, sender protocol address> is already in my
        // translation table, update the sender hardware address field of the entry with the new
        // information in the packet and set Merge_flag to true."
        var merged = false
        if learnable, neighbors.entries[arp.senderIP] != nil {
            learn(arp.senderIP, mac: arp.senderMAC, interface: interface, ctx: &ctx, effects: &effects)
            merged = true
        }
        // RFC 826: "?Am I the target protocol address?" — if not, nothing more to do.
        guard arp.targetIP == iface.address else {
            if !merged { ctx.drop(.arpNotForUs) }
            return
        }
        if arp.operation == ARPOperation.request {
            // RFC 826: "If Merge_flag is false, add the triplet to the translation table."
            // Only for requests addressed to us: an unsolicited reply creates no entry.
            if !merged && learnable {
                learn(arp.senderIP, mac: arp.senderMAC, interface: interface, ctx: &ctx, effects: &effects)
            }
            sendARP(
                operation: ARPOperation.reply,
                interface: interface,
                targetMAC: arp.senderMAC,
                targetIP: arp.senderIP,
                destinationMAC: arp.senderMAC,
                ctx: &ctx,
                effects: &effects
            )
            ctx.trace(.arpReplySent(to: arp.senderIP, mac: iface.mac))
        } else if !merged {
            ctx.drop(.arpUnsolicitedReply)
        }
    }

    /// Enters or refreshes a mapping, and sends whatever waited for it.
    private mutating func learn(
        _ address: IPv4Address,
        mac: MACAddress,
        interface: Int,
        ctx: inout LayerContext,
        effects: inout Effects
    ) {
        let exists = neighbors.entries[address] != nil
        if !exists && neighbors.entries.count >= neighbors.maxEntries {
            evictStalest(ctx: &ctx)
        }
        var entry =
            neighbors.entries.removeValue(forKey: address)
            ?? NeighborCache.Entry(interface: interface, expires: ctx.now)
        if entry.mac != mac || !exists { ctx.trace(.arpLearned(address: address, mac: mac)) }
        // An incomplete entry (a request outstanding) gets its first mapping: that creates it.
        ctx.count(entry.mac == nil ? .arpEntriesCreated : .arpEntriesUpdated)
        entry.mac = mac
        entry.interface = interface
        entry.expires = ctx.now.adding(nanoseconds: neighbors.lifetime)
        entry.requestsSent = 0
        entry.nextRequest = nil
        let pending = entry.pending
        entry.pending.removeAll()
        entry.pendingBytes = 0
        neighbors.entries[address] = entry
        let src = ctx.interfaces[interface].mac
        for p in pending {
            effects.frames.begin(headroom: EthernetHeader.size)
            p.bytes.withUnsafeBytes { effects.frames.append($0) }
            commitEthernet(
                source: src,
                destination: mac,
                etherType: EtherType.ipv4,
                interface: interface,
                ctx: &ctx,
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
        ctx: inout LayerContext,
        effects: inout Effects
    ) {
        guard effects.frames.prepend(EthernetHeader.size) else {
            effects.frames.abort()
            return
        }
        effects.frames.withFrame { buf in
            EthernetHeader(destination: destination, source: source, etherType: etherType).write(to: buf, at: 0)
        }
        ctx.count(.linkFramesOut)
        ctx.count(.linkBytesOut, UInt64(effects.frames.length))
        effects.frames.commit(interface: interface)
    }

    /// Sends an ARP request or reply.
    private mutating func sendARP(
        operation: UInt16,
        interface: Int,
        targetMAC: MACAddress,
        targetIP: IPv4Address,
        destinationMAC: MACAddress,
        ctx: inout LayerContext,
        effects: inout Effects
    ) {
        let iface = ctx.interfaces[interface]
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
        ctx.count(operation == ARPOperation.request ? .arpRequestsOut : .arpRepliesOut)
        commitEthernet(
            source: iface.mac,
            destination: destinationMAC,
            etherType: EtherType.arp,
            interface: interface,
            ctx: &ctx,
            effects: &effects
        )
    }

    /// Broadcasts a request for `target` and schedules the next try (RFC 1122 §2.3.2.1: at most
    /// one request per second per destination).
    private mutating func sendARPRequest(for target: IPv4Address, ctx: inout LayerContext, effects: inout Effects) {
        guard var e = neighbors.entries[target] else { return }
        e.requestsSent += 1
        e.nextRequest = ctx.now.adding(nanoseconds: neighbors.retryInterval)
        neighbors.entries[target] = e
        ctx.trace(.arpRequestSent(target: target, attempt: e.requestsSent))
        // A re-validation of a known mapping is unicast (RFC 1122 §2.3.2.1 "unicast poll").
        sendARP(
            operation: ARPOperation.request,
            interface: e.interface,
            targetMAC: .zero,
            targetIP: target,
            destinationMAC: e.mac ?? .broadcast,
            ctx: &ctx,
            effects: &effects
        )
    }

    /// Resolves `nextHop` for the IP datagram being built in `effects.frames` and sends it, or
    /// queues a copy while the address resolves.
    /// The owner of a datagram refused because no entry could be made for its next hop is
    /// added to `ctx.undeliverable`.
    mutating func outputIPv4(
        interface: Int,
        nextHop: IPv4Address,
        owner: PacketOwner,
        ctx: inout LayerContext,
        effects: inout Effects
    ) {
        let iface = ctx.interfaces[interface]
        let destination: MACAddress
        var revalidate = false
        if nextHop == .broadcast || (iface.network.prefixLength < 31 && nextHop == iface.network.broadcastAddress) {
            destination = .broadcast
        } else if nextHop.isMulticast {
            // RFC 1112 §6.4: 01-00-5E plus the low 23 bits of the group address.
            destination = MACAddress(rawValue: 0x0100_5E00_0000 | UInt64(nextHop.rawValue & 0x7F_FFFF))
        } else if let i = neighbors.entries.index(forKey: nextHop), let mac = neighbors.entries.values[i].mac {
            destination = mac
            if neighbors.entries.values[i].expires <= ctx.now && neighbors.entries.values[i].nextRequest == nil {
                // Stale: keep using it, and re-validate it after this frame (RFC 1122 §2.3.2.1).
                neighbors.entries.values[i].requestsSent = 0
                revalidate = true
            }
        } else {
            return holdForResolution(interface: interface, nextHop: nextHop, owner: owner, ctx: &ctx, effects: &effects)
        }
        commitEthernet(
            source: iface.mac,
            destination: destination,
            etherType: EtherType.ipv4,
            interface: interface,
            ctx: &ctx,
            effects: &effects
        )
        if revalidate { sendARPRequest(for: nextHop, ctx: &ctx, effects: &effects) }
    }

    /// Holds the datagram being built while `nextHop` resolves (RFC 1122 §2.3.2.2).
    private mutating func holdForResolution(
        interface: Int,
        nextHop: IPv4Address,
        owner: PacketOwner,
        ctx: inout LayerContext,
        effects: inout Effects
    ) {
        // Unresolved: hold the datagram (RFC 1122 §2.3.2.2), oldest dropped when full.
        let copy = effects.frames.copyFrame()
        effects.frames.abort()
        var e =
            neighbors.entries.removeValue(forKey: nextHop)
            ?? NeighborCache.Entry(interface: interface, expires: ctx.now)
        let isNew = e.nextRequest == nil
        if isNew && neighbors.entries.count >= neighbors.maxEntries { evictStalest(ctx: &ctx) }
        e.pending.append(PendingPacket(bytes: copy, owner: owner))
        e.pendingBytes += copy.count
        ctx.count(.arpQueued)
        while e.pending.count > neighbors.maxPending || e.pendingBytes > neighbors.maxPendingBytes {
            let old = e.pending.removeFirst()
            e.pendingBytes -= old.bytes.count
            ctx.drop(.arpPendingQueueFull)
        }
        let queued = e.pending.count
        neighbors.entries[nextHop] = e
        ctx.trace(.arpQueued(target: nextHop, queued: queued))
        if isNew { sendARPRequest(for: nextHop, ctx: &ctx, effects: &effects) }
    }

    /// ARP timers: retries, giving up, forgetting stale entries.
    /// Owners of the datagrams dropped because resolution failed are added to `ctx.undeliverable`.
    mutating func timers(ctx: inout LayerContext, effects: inout Effects) {
        guard let d = neighbors.nextDeadline, d <= ctx.now else { return }
        for address in neighbors.sortedAddresses {
            guard let e = neighbors.entries[address] else { continue }
            if let due = e.nextRequest {
                guard due <= ctx.now else { continue }
                if e.requestsSent >= neighbors.maxRequests {
                    // Resolution failed: drop what waited and tell the senders (RFC 1122 §2.3.2.2).
                    neighbors.entries[address] = nil
                    ctx.trace(.arpFailed(target: address, dropped: e.pending.count))
                    for p in e.pending {
                        ctx.drop(.arpResolutionFailed)
                        ctx.undeliverable.append(p.owner)
                    }
                } else {
                    sendARPRequest(for: address, ctx: &ctx, effects: &effects)
                }
            } else if e.expires.adding(nanoseconds: neighbors.lifetime) <= ctx.now {
                ctx.count(.arpEntriesExpired)
                neighbors.entries[address] = nil
            }
        }
    }

    /// Makes room for a new entry when the cache is full: the stalest entry goes, never the
    /// newest (RFC 1122 §2.3.2.2 leaves the policy to the host; a flood may cost old entries,
    /// not the next neighbour). An entry with nothing queued goes first; else the stalest one
    /// still resolving, whose datagrams are dropped and their owners told.
    private mutating func evictStalest(ctx: inout LayerContext) {
        var idle: (key: IPv4Address, expires: Instant)?
        var any: (key: IPv4Address, expires: Instant)?
        for (key, e) in neighbors.entries {
            if any == nil || (e.expires, key) < (any!.expires, any!.key) { any = (key, e.expires) }
            if e.pending.isEmpty && (idle == nil || (e.expires, key) < (idle!.expires, idle!.key)) {
                idle = (key, e.expires)
            }
        }
        guard let victim = (idle ?? any)?.key, let e = neighbors.entries.removeValue(forKey: victim) else { return }
        ctx.count(.arpEvictions)
        ctx.trace(.arpEvicted(address: victim, dropped: e.pending.count))
        for p in e.pending {
            ctx.drop(.arpPendingQueueFull)
            ctx.undeliverable.append(p.owner)
        }
    }
}
