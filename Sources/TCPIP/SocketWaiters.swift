import TCPIPCore

/// The calls parked on a host's owner thread, indexed by the identity of the sockets they wait
/// on, so a socket's event retries its own waiters and no others.
///
/// - `bySocket`: for each socket identity, its waiters in arrival order. A `poll` waiter is in
///   the list of each of its sockets. A socket's list keeps its storage while the socket is
///   open (no allocation per wait) and goes when an event shows the socket closed.
/// - `unbound`: calls about no socket (e.g. waiting for an echo reply); the simple path: they
///   are retried after every batch of events.
/// - `parked`: every parked waiter once, for `stop`.
/// - `heap`: the waiters with a deadline, earliest first, each knowing its position, so that
///   a completed waiter leaves at once and nothing stale stays behind.
///
/// Every removal is eager: once a waiter is delivered nothing here refers to it (a blocking
/// call's waiter is reused by its thread right after).
struct SocketWaiters {
    var bySocket: [SocketID: [Waiter]] = [:]
    var unbound: [Waiter] = []
    var parked: [Waiter] = []
    var heap: [Waiter] = []
    /// Identities with events in the current batch, each once.
    var woken: [SocketID] = []
    /// Attempts made after an event (not the first try of a call): for tests of the wake-up.
    var retries = 0

    /// The earliest deadline of a parked call.
    var earliestDeadline: Instant? { heap.first?.deadline }

    /// Registers a waiter that tried and would block.
    mutating func park(_ w: Waiter) {
        w.state = .parked
        w.parkedIndex = parked.count
        parked.append(w)
        if w.isAboutSockets {
            w.forEachID { id in bySocket[id, default: []].append(w) }
        } else {
            unbound.append(w)
        }
        w.heapIndex = -1
        if w.deadline != nil {
            w.heapIndex = heap.count
            heap.append(w)
            siftUp(heap.count - 1)
        }
    }

    /// Unregisters `w` (if parked) and delivers its value: the last touch.
    mutating func finish(_ w: Waiter) {
        if w.state == .parked { remove(w) }
        w.state = .done
        w.deliver()
    }

    /// Notes an event about `id`: its waiters are retried by `retryWoken`.
    mutating func changed(_ id: SocketID) {
        guard bySocket[id] != nil, !woken.contains(id) else { return }
        woken.append(id)
    }

    /// Retries the waiters of each socket noted by `changed`: a waiter completes when its
    /// attempt answers, or with `EBADF` when one of its sockets has been closed meanwhile.
    mutating func retryWoken(_ stack: inout Stack, _ effects: inout Effects) {
        for id in woken {
            guard var list = bySocket.removeValue(forKey: id) else { continue }
            let open = stack.socketID(id.descriptor) == id
            var kept = 0
            for i in list.indices {
                let w = list[i]
                if !open || !w.socketsStillOpen(in: stack) {
                    w.keepClosed(&stack, &effects)
                    finish(w)
                    continue
                }
                retries += 1
                if w.attempt(&stack, &effects) {
                    finish(w)
                    continue
                }
                list[kept] = w
                kept += 1
            }
            // A closed socket's list goes; an open one's keeps its storage for the next wait.
            guard open else { continue }
            list.removeSubrange(kept...)
            bySocket[id] = list
        }
        woken.removeAll(keepingCapacity: true)
    }

    /// Retries the calls about no socket.
    mutating func retryUnbound(_ stack: inout Stack, _ effects: inout Effects) {
        guard !unbound.isEmpty else { return }
        var list: [Waiter] = []
        swap(&list, &unbound)
        var kept = 0
        for i in list.indices {
            let w = list[i]
            retries += 1
            if w.attempt(&stack, &effects) {
                finish(w)
                continue
            }
            list[kept] = w
            kept += 1
        }
        list.removeSubrange(kept...)
        // Attempts park nothing, so `unbound` is still empty: the list goes back whole.
        swap(&list, &unbound)
    }

    /// Ends the calls whose deadline has passed (their value: nil).
    mutating func expire(now: Instant) {
        while let top = heap.first, let d = top.deadline, d <= now { finish(top) }
    }

    /// Ends every parked call with nil (`Host.stop`).
    mutating func finishAll() {
        let all = parked
        bySocket.removeAll()
        unbound.removeAll()
        parked.removeAll()
        heap.removeAll()
        for w in all {
            // A blocking call's waiter is its thread's, reused by its next call (perhaps on
            // another host): it leaves with no index into these tables.
            w.parkedIndex = -1
            w.heapIndex = -1
            w.state = .done
            w.deliver()
        }
    }

    // MARK: - Removal

    mutating func remove(_ w: Waiter) {
        if w.isAboutSockets {
            w.forEachID { id in
                if let i = bySocket[id]?.firstIndex(where: { $0 === w }) { bySocket[id]!.remove(at: i) }
            }
        } else if let i = unbound.firstIndex(where: { $0 === w }) {
            unbound.remove(at: i)
        }
        let p = w.parkedIndex
        parked.swapAt(p, parked.count - 1)
        parked[p].parkedIndex = p
        parked.removeLast()
        w.parkedIndex = -1
        if w.heapIndex >= 0 { removeFromHeap(w) }
    }

    // MARK: - The deadline heap

    mutating func removeFromHeap(_ w: Waiter) {
        let i = w.heapIndex
        let last = heap.count - 1
        if i != last {
            heap.swapAt(i, last)
            heap[i].heapIndex = i
        }
        heap.removeLast()
        w.heapIndex = -1
        if i < heap.count {
            siftDown(i)
            siftUp(i)
        }
    }

    func earlier(_ a: Int, _ b: Int) -> Bool { heap[a].deadline! < heap[b].deadline! }

    mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard earlier(i, parent) else { return }
            swapHeap(i, parent)
            i = parent
        }
    }

    mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < heap.count && earlier(l, m) { m = l }
            if r < heap.count && earlier(r, m) { m = r }
            guard m != i else { return }
            swapHeap(i, m)
            i = m
        }
    }

    mutating func swapHeap(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heap[a].heapIndex = a
        heap[b].heapIndex = b
    }
}
