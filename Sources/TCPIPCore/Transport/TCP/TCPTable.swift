import DequeModule
import HeapModule

/// A listening socket's queues (RFC 9293 §3.10.1 passive OPEN; the backlog of `listen(2)`).
struct TCPListenState {
    /// Completed connections not yet accepted, at most `backlog` + 1 (as Linux's
    /// `sk_acceptq_is_full`).
    var acceptQueue = Deque<Int>()
    /// The backlog `listen` asked for, capped (Linux's `somaxconn`).
    var backlog: Int
    /// Embryonic connections (SYN-RECEIVED) belonging to this listener; the SYN queue holds
    /// at most `backlog` of them (Linux's `inet_csk_reqsk_queue_is_full`).
    var embryonic = 0
    /// When the SYN queue last overflowed into cookies: ACKs are checked for cookies only
    /// within two minutes of it (Linux's `tcp_synq_no_recent_overflow`).
    var lastOverflow: Instant?

    /// True when no further completed connection may queue.
    var acceptQueueFull: Bool { acceptQueue.count > backlog }
}

/// A stream socket's TCP side.
struct TCPSocketState {
    var localAddress: IPv4Address = .any
    var localPort: UInt16 = 0
    /// The connection's slot in the table, once connecting or connected.
    var connection: Int?
    /// Set while listening.
    var listen: TCPListenState?
    /// SO_REUSEADDR, as the socket set it (the bind rule looks at both sockets' flags).
    var reuseAddress = false
}

/// A timer entry: the connection in `slot` wants attention at `due`.
struct TCPTimerEntry: Comparable {
    var due: Instant
    var slot: Int
    var generation: UInt32
    static func < (a: TCPTimerEntry, b: TCPTimerEntry) -> Bool {
        a.due != b.due ? a.due < b.due : (a.slot, a.generation) < (b.slot, b.generation)
    }
}

/// Every TCP connection of the stack: slots of control blocks, a 4-tuple index, the ports
/// bound by stream sockets, and one timer heap.
struct TCPTable {
    var slots: [TCPConnection?] = []
    var generations: [UInt32] = []
    /// When each slot's earliest timer was last scheduled in the heap.
    var scheduled: [Instant?] = []
    var free: [Int] = []
    /// Buffer bytes each slot's connection was charged when stored.
    var charged: [Int] = []
    /// Connections stored, in any state.
    var live = 0
    /// Send and receive buffer bytes the stored connections may hold, in all.
    var committedBytes = 0
    var byTuple: [TCPFourTuple: Int] = [:]
    /// Stream sockets bound to each port (listening or not).
    var bound: [UInt16: [Int32]] = [:]
    /// The TCP side of each stream socket, by descriptor: binding, connection, listen queues.
    var endpoints: [Int32: TCPSocketState] = [:]
    var timers = Heap<TCPTimerEntry>()
    var timeWaitCount = 0
    var isn: InitialSequenceNumberGenerator
    /// Tests only: when set, every new connection takes this ISS instead of the RFC 6528 value
    /// (to exercise sequence numbers near 2^31 and 2^32).
    var issOverride: SequenceNumber?
    var challengeAcks: TokenBucket
    /// The SYN cookie keys (drawn at the first overflow).
    var cookies = SYNCookies()

    init(configuration: TCPConfiguration, random: inout SeededRandom) {
        isn = InitialSequenceNumberGenerator(k0: random.next(), k1: random.next())
        challengeAcks = TokenBucket(
            ratePerSecond: configuration.challengeAcksPerSecond,
            burst: configuration.challengeAcksPerSecond
        )
    }

    /// Stores a new connection and returns its slot.
    mutating func insert(_ c: TCPConnection) -> Int {
        var c = c
        let slot: Int
        if let s = free.popLast() {
            slot = s
        } else {
            slot = slots.count
            slots.append(nil)
            generations.append(0)
            scheduled.append(nil)
            charged.append(0)
        }
        charged[slot] = c.sendBuffer.capacity + c.receiveBuffer.capacity
        committedBytes += charged[slot]
        live += 1
        generations[slot] &+= 1
        c.generation = generations[slot]
        slots[slot] = c
        scheduled[slot] = nil
        byTuple[c.tuple] = slot
        return slot
    }

    /// Frees a slot (its connection must already be out of the 4-tuple index).
    mutating func remove(_ slot: Int) {
        committedBytes -= charged[slot]
        charged[slot] = 0
        live -= 1
        slots[slot] = nil
        scheduled[slot] = nil
        generations[slot] &+= 1
        free.append(slot)
    }

    mutating func addBinding(_ fd: Int32, port: UInt16) { bound[port, default: []].append(fd) }

    mutating func removeBinding(_ fd: Int32, port: UInt16) {
        guard var list = bound[port] else { return }
        list.removeAll { $0 == fd }
        bound[port] = list.isEmpty ? nil : list
    }
}
