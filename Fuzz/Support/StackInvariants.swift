@testable import TCPIPCore

/// The invariants the core states, checked over a whole `Stack` between two events: the
/// sequence space of every connection (RFC 9293 §3.3.1), its buffers and timers, the tables
/// that index connections and sockets, the listeners' queues, the UDP queues, reassembly and
/// the neighbour cache — each within its configured bound, and each count equal to what it
/// counts.
enum StackInvariants {
    /// Checks everything, after the timers due at the stack's current time have run.
    static func check(_ stack: Stack) {
        checkConnections(stack)
        checkListeners(stack)
        checkSockets(stack)
        checkUDP(stack)
        checkReassembly(stack.ipv4.reassembly, now: stack.currentTime)
        LinkInvariants.check(stack.link.neighbors, now: stack.currentTime, interfaces: stack.interfaces.count)
        if let next = stack.nextDeadline() {
            require(next > stack.currentTime, "work due at \(next) left undone at \(stack.currentTime)")
        }
    }

    static func checkConnections(_ stack: Stack) {
        let tcp = stack.tcp
        var live = 0
        var timeWait = 0
        for (slot, connection) in tcp.slots.enumerated() {
            guard let c = connection else { continue }
            if c.state == .timeWait { timeWait += 1 }
            if c.state == .closed {
                // Kept only for the socket or listener that will look at it; no timer runs.
                require(tcp.byTuple[c.tuple] != slot, "closed slot \(slot) still indexed")
                require(c.fd != nil || c.listener != nil, "closed slot \(slot) kept for nobody")
                require(c.nextTimer == nil, "closed slot \(slot) has a timer")
            } else {
                live += 1
                require(tcp.byTuple[c.tuple] == slot, "slot \(slot) is not indexed by its 4-tuple")
            }
            require(c.generation == tcp.generations[slot], "slot \(slot) generation")
            checkConnection(c, slot: slot, stack: stack)
            // A timer set is in the heap, no later than it is due: none is ever lost.
            if let due = c.nextTimer {
                let scheduled = tcp.scheduled[slot]
                require(scheduled.map { $0 <= due } ?? false, "slot \(slot): timer at \(due) not scheduled")
                let entry = TCPTimerEntry(due: scheduled!, slot: slot, generation: c.generation)
                require(tcp.timers.unordered.contains(entry), "slot \(slot): scheduled timer not in the heap")
            }
        }
        require(tcp.byTuple.count == live, "\(tcp.byTuple.count) 4-tuples for \(live) open connections")
        require(tcp.timeWaitCount == timeWait, "TIME-WAIT count \(tcp.timeWaitCount), \(timeWait) in the table")
        require(timeWait <= stack.configuration.tcp.timeWaitLimit, "\(timeWait) connections in TIME-WAIT")
        require(tcp.free.allSatisfy { tcp.slots[$0] == nil }, "a free slot is in use")
    }

    /// One control block: SND.UNA ≤ SND.NXT ≤ SND.MAX, no more in flight than the buffer holds
    /// (plus SYN and FIN), buffers within capacity, SACK scoreboard sorted within the flight.
    static func checkConnection(_ c: TCPConnection, slot: Int, stack: Stack) {
        let name = "\(c.tuple.localPort)>\(c.tuple.remotePort) in \(c.state)"
        require(c.state != .listen, "\(name): stored")
        require(
            c.sndUna <= c.sndNxt && c.sndNxt <= c.sndMax,
            "\(name): SND.UNA \(c.sndUna) NXT \(c.sndNxt) MAX \(c.sndMax)"
        )
        require(c.iss <= c.sndUna, "\(name): SND.UNA \(c.sndUna) before ISS \(c.iss)")
        require(
            c.flightSize <= c.sendBuffer.count + 2,
            "\(name): \(c.flightSize) in flight, \(c.sendBuffer.count) held"
        )
        require(c.sendBuffer.count <= c.sendBuffer.capacity, "\(name): send buffer over capacity")
        let rb = c.receiveBuffer
        require(
            rb.readable >= 0 && rb.readable + rb.outOfOrderBytes <= rb.capacity + rb.slack,
            "\(name): receive buffer over capacity"
        )
        var end = 0
        let ranges = rb.outOfOrderRanges
        require(ranges.count <= rb.maxRanges, "\(name): \(ranges.count) out-of-order ranges")
        for r in ranges {
            require(r.lowerBound > end && r.upperBound <= rb.storable, "\(name): out-of-order ranges \(ranges)")
            end = r.upperBound
        }
        require(c.sacked.count <= 16, "\(name): \(c.sacked.count) SACKed ranges")
        var right = c.sndUna
        for block in c.sacked {
            require(
                right <= block.left && block.left < block.right && block.right <= c.sndMax,
                "\(name): SACK \(c.sacked)"
            )
            right = block.right
        }
        require(c.sndWindowShift <= 14 && c.rcvWindowShift <= 14, "\(name): window shift over 14 (RFC 7323 §2.3)")
        require(c.mss > 0 && c.cc.cwnd > 0, "\(name): MSS \(c.mss), cwnd \(c.cc.cwnd)")
        let rto = c.rtt.rto
        require(rto >= c.rtt.minRTO && rto <= c.rtt.maxRTO, "\(name): RTO \(rto)")
        if c.state.isSynchronized || c.state == .synReceived {
            require(c.rcvNxt <= c.rcvAdvertised + 1, "\(name): RCV.NXT \(c.rcvNxt) past the edge \(c.rcvAdvertised)")
            // Every edge told can be kept (RFC 7323 §2.4 rounding into the ring's slack).
            require(
                c.rcvAdvertised - c.rcvNxt <= rb.storable,
                "\(name): the edge told \(c.rcvAdvertised) lies beyond what the buffer stores from \(c.rcvNxt)"
            )
        }
        if let owner = c.owner {
            require(stack.sockets.isOpen(owner), "\(name): owned by a closed socket")
            require(stack.tcp.endpoints[owner.descriptor]?.connection == slot, "\(name): not its owner's connection")
        }
    }

    static func checkListeners(_ stack: Stack) {
        for (fd, endpoint) in stack.tcp.endpoints {
            require(stack.sockets[fd]?.type == .stream, "TCP endpoint \(fd) without a stream socket")
            if let slot = endpoint.connection {
                let c = slot < stack.tcp.slots.count ? stack.tcp.slots[slot] : nil
                require(c?.fd == fd, "socket \(fd) names slot \(slot), which it does not own")
            }
            guard let ls = endpoint.listen else { continue }
            require(ls.acceptQueue.count <= ls.backlog, "listener \(fd): \(ls.acceptQueue.count) to accept")
            require(ls.embryonic <= stack.configuration.tcp.synQueueLimit, "listener \(fd): \(ls.embryonic) embryonic")
            for slot in ls.acceptQueue {
                let c = slot < stack.tcp.slots.count ? stack.tcp.slots[slot] : nil
                require(c?.listener == fd, "listener \(fd): queued slot \(slot) is not its connection")
            }
        }
    }

    static func checkSockets(_ stack: Stack) {
        let table = stack.sockets
        require(table.count == table.slots.count(where: { $0 != nil }), "socket count \(table.count)")
        require(table.count <= table.limit, "\(table.count) sockets")
    }

    static func checkUDP(_ stack: Stack) {
        for (fd, e) in stack.udp.endpoints {
            require(stack.sockets[fd]?.type == .dgram, "UDP endpoint \(fd) without a datagram socket")
            require(e.queuedBytes == e.queue.reduce(0) { $0 + $1.bytes.count }, "socket \(fd): queued bytes")
            require(e.queuedBytes <= e.receiveBuffer, "socket \(fd): \(e.queuedBytes) bytes queued")
            if e.localPort != 0 { require(stack.udp.ports[e.localPort]?.contains(fd) == true, "socket \(fd): port") }
        }
        for (port, fds) in stack.udp.ports {
            require(fds.allSatisfy { stack.udp.endpoints[$0]?.localPort == port }, "port \(port) bindings")
        }
    }

    /// The reassembly table (shared with the Reassembly target).
    static func checkReassembly(_ r: Reassembly, now: Instant) {
        require(r.datagrams.count <= r.maxDatagrams, "\(r.datagrams.count) datagrams")
        require(r.bytes <= r.maxBytes, "\(r.bytes) bytes held")
        require(r.bytes == r.datagrams.values.reduce(0) { $0 + $1.data.capacity }, "byte count")
        for d in r.datagrams.values {
            require(d.ranges.count <= r.maxFragments, "\(d.ranges.count) fragments")
            var end = 0
            for range in d.ranges {
                require(range.lowerBound >= end, "ranges overlap or are unsorted: \(d.ranges)")
                end = range.upperBound
            }
            require(end <= d.data.count, "a range past the data")
            require(d.received == d.ranges.reduce(0) { $0 + $1.count }, "received count")
            if let total = d.total { require(end <= total, "a range past the total") }
            require(d.received < (d.total ?? Int.max) || d.first == nil, "a whole datagram held back")
            require(d.deadline > now, "an expired datagram held")
        }
    }
}
