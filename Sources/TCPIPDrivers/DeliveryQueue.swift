import TCPIPCore

/// Frames waiting on a `MemoryWire`, ordered by (due time, sequence number): a binary min-heap
/// of small entries whose bytes live in recycled slots, so a warmed-up wire allocates nothing.
struct DeliveryQueue: Sendable {
    struct Entry: Sendable {
        var due: Instant
        var sequence: UInt64
        var endpoint: Int
        var slot: Int

        func precedes(_ other: Entry) -> Bool {
            due != other.due ? due < other.due : sequence < other.sequence
        }
    }

    private var heap: [Entry] = []
    private var slots: [[UInt8]] = []
    private var freeSlots: [Int] = []
    private var nextSequence: UInt64 = 0

    /// Frames waiting.
    var count: Int { heap.count }

    /// The earliest due time, if any frame is waiting.
    var earliestDue: Instant? { heap.first?.due }

    /// Queues a copy of `frame` for `endpoint` at `due`; among equal due times, first in first out.
    mutating func push(due: Instant, endpoint: Int, frame: UnsafeRawBufferPointer) {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            slots[slot].append(contentsOf: frame)
        } else {
            slot = slots.count
            slots.append(Array(frame))
        }
        heap.append(Entry(due: due, sequence: nextSequence, endpoint: endpoint, slot: slot))
        nextSequence &+= 1
        siftUp(heap.count - 1)
    }

    /// Removes the earliest frame if it is due at `now`; returns its endpoint and slot.
    mutating func popDue(now: Instant) -> Entry? {
        guard let first = heap.first, first.due <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        return first
    }

    /// Calls `body` with the bytes in `slot`, then recycles the slot.
    mutating func consume(slot: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        slots[slot].withUnsafeBytes { body($0) }
        slots[slot].removeAll(keepingCapacity: true)
        freeSlots.append(slot)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            let right = left + 1
            if right < heap.count && heap[right].precedes(heap[left]) { smallest = right }
            guard heap[smallest].precedes(heap[parent]) else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
