import Foundation
import Synchronization
import TCPIPCore
import TCPIPDrivers

/// What a `Host` is made of: the stack's configuration and the optional pcap file and fault
/// injection on its device.
public struct HostConfiguration: Sendable {
    /// The stack's interfaces, gateway and tunables.
    public var stack: StackConfiguration
    /// Seed of the stack's randomness; nil: from the system's entropy.
    public var seed: UInt64?
    /// Write every frame the stack sends or receives to this pcap file.
    public var pcapPath: String?
    /// Faults applied to frames in both directions between the device and the stack.
    public var faults: FaultConfiguration = .none
    /// Seed of the fault injector.
    public var faultSeed: UInt64 = 1

    /// A configuration for this stack.
    public init(stack: StackConfiguration, seed: UInt64? = nil, pcapPath: String? = nil) {
        self.stack = stack
        self.seed = seed
        self.pcapPath = pcapPath
    }
}

/// An application that runs on the host's owner thread, driven by socket events — no thread
/// hop per packet.
public protocol HostApplication: AnyObject {
    /// Called once on the owner thread before the first frame is read.
    func start(stack: inout Stack, effects: inout Effects) throws(Errno)
    /// Called on the owner thread for every socket event.
    func handle(_ event: SocketEvent, stack: inout Stack, effects: inout Effects)
    /// When the application next wants `advance` called (its earliest timer); nil: no timer.
    /// Read on the owner thread before each wait. Default: nil.
    var nextDeadline: Instant? { get }
    /// Called on the owner thread once `nextDeadline` has come, with the time now (on the
    /// host's monotonic clock, `MonotonicClock.now()`). Default: nothing.
    func advance(to now: Instant, stack: inout Stack, effects: inout Effects)
}

extension HostApplication {
    /// No timer.
    public var nextDeadline: Instant? { nil }
    /// Nothing to do.
    public func advance(to now: Instant, stack: inout Stack, effects: inout Effects) {}
}

/// One stack, its device and the thread that owns them.
///
/// The device is any `NetworkDevice` — a TAP interface, one end of an in-memory pair. The owner
/// thread waits on the device's readiness descriptor, a wake-up eventfd and the stack's next
/// deadline; receives every queued frame into the stack, a batch at a time; fires due timers;
/// transmits the stack's outgoing frames as one batch; and wakes callers whose socket calls can
/// now complete. Other threads make socket calls through `call`, which queues the call to the
/// owner and waits.
public final class Host: @unchecked Sendable {
    /// The configuration the host was made with.
    public let configuration: HostConfiguration
    /// The device the stack's frames move through.
    public let device: any NetworkDevice
    let wake: EventFD
    let pcap: PcapWriter?
    // Owner-thread state.
    var stack: Stack
    var effects = Effects()
    var waiters = SocketWaiters()
    var applications: [any HostApplication] = []
    var observers: [(SocketEvent) -> Void] = []
    var faultPipe: MemoryWire?
    /// Received frames, reused for every batch (nothing allocated per frame).
    var receiveBatch = FrameBatch(maxFrames: Host.receiveBatchSize)
    var spareEvents: [SocketEvent] = []
    var spareRequests: [Waiter] = []
    // Shared state.
    let requests = Locked<[Waiter]>([])
    /// Who may touch the stack outside a call: the owner thread while it runs, else one
    /// `perform` at a time.
    let ownerAccess = Locked<Void>(())
    let running = Atomic<Bool>(false)
    let stopped = DispatchSemaphore(value: 0)
    var thread: Thread?

    /// Frames received per batch; a turn of the owner loop takes at most
    /// `receiveBatchesPerTurn` batches, so timers and calls keep their turn under a flood.
    static let receiveBatchSize = 64
    static let receiveBatchesPerTurn = 4

    /// Attaches a stack to `device` (a `TAPDevice`, a `MemoryDevice`, …). Fails when the pcap
    /// file cannot be created, or when the device frames IP datagrams without Ethernet (L3),
    /// which the stack does not speak yet.
    public init(configuration: HostConfiguration, device: any NetworkDevice) throws(DriverError) {
        guard device.capabilities.medium == .ethernet else {
            throw DriverError(
                device: device.name,
                operation: "cannot attach a stack: it needs Ethernet (L2) framing",
                code: EINVAL
            )
        }
        self.configuration = configuration
        self.device = device
        wake = try EventFD()
        if let path = configuration.pcapPath {
            pcap = try PcapWriter(path: path, epochOffsetNanoseconds: MonotonicClock.epochOffsetNanoseconds())
        } else {
            pcap = nil
        }
        stack = Stack(configuration: configuration.stack, seed: configuration.seed ?? SystemEntropy.seed())
        if !configuration.faults.isNone {
            faultPipe = MemoryWire(endpoints: 2, faults: configuration.faults, seed: configuration.faultSeed)
        }
    }

    /// Adds an application; call before `start`.
    public func add(_ application: any HostApplication) { applications.append(application) }

    /// Adds an observer of socket events (called on the owner thread); call before `start`.
    public func observe(_ observer: @escaping (SocketEvent) -> Void) { observers.append(observer) }

    /// Sets the stack's trace sink (called on the owner thread); call before `start`.
    public func trace(_ sink: @escaping (TraceEvent) -> Void) { stack.traceSink = sink }

    /// Starts the applications, then the owner thread. Fails with the first application's error.
    public func start() throws(Errno) {
        stack.advance(to: MonotonicClock.now(), into: &effects)
        for app in applications { try app.start(stack: &stack, effects: &effects) }
        running.store(true, ordering: .sequentiallyConsistent)
        let t = Thread { [self] in
            self.run()
            self.stopped.signal()
        }
        t.name = "tcpip-host"
        thread = t
        t.start()
    }

    /// Stops the owner thread, fails waiting calls with a timeout, and flushes the pcap file.
    public func stop() {
        guard running.exchange(false, ordering: .sequentiallyConsistent) else { return }
        wake.signal()
        stopped.wait()
        // The thread's closure holds the host: let go of the thread, or neither is ever freed.
        thread = nil
        try? pcap?.flush()
    }

    /// Runs `attempt` on the owner thread, again after every batch of socket events, until it
    /// returns a value or `timeout` nanoseconds pass (nil: no limit; 0: one try). Returns nil on
    /// timeout, or when the host is (or gets) stopped.
    ///
    /// For a call about no socket (e.g. waiting for an echo reply); a call that waits on a
    /// socket uses `call(socket:timeout:_:)`, which is retried on that socket's events only.
    public func call<R: Sendable>(timeout: Int64?, _ attempt: (inout Stack, inout Effects) -> R?) -> R? {
        block(fd: -1, moreFDs: [], timeout: timeout, closed: nil, attempt)
    }

    /// Runs `attempt` on the owner thread and, while it returns nil, again after each event of
    /// the socket open under `fd` — and of no other socket — until it returns a value or
    /// `timeout` nanoseconds pass (nil: no limit; 0: one try; then nil).
    ///
    /// Closing the socket (from another thread) ends the wait with `EBADF`, as mature
    /// user-space stacks do (and unlike Linux, where a `recv` blocked on a descriptor that
    /// another thread closes keeps waiting): the call never reaches a socket that reuses the
    /// descriptor.
    public func call<T: Sendable>(
        socket fd: Int32,
        timeout: Int64?,
        _ attempt: (inout Stack, inout Effects) -> Result<T, Errno>?
    ) -> Result<T, Errno>? {
        block(fd: fd, moreFDs: [], timeout: timeout, closed: .failure(.closedWhileWaiting), attempt)
    }

    /// As `call(socket:timeout:_:)`, waiting on several sockets at once (`poll`): `attempt` is
    /// retried after an event of any of them; closing any of them ends the wait with `EBADF`.
    public func call<T: Sendable>(
        sockets fds: [Int32],
        timeout: Int64?,
        _ attempt: (inout Stack, inout Effects) -> Result<T, Errno>?
    ) -> Result<T, Errno>? {
        block(
            fd: fds.first ?? -1,
            moreFDs: Array(fds.dropFirst()),
            timeout: timeout,
            closed: .failure(.closedWhileWaiting),
            attempt
        )
    }

    /// The blocking calls' engine: the thread's reusable `BlockingWaiter` carries the call,
    /// whose closure writes the answer into this frame; the thread sleeps on the waiter's
    /// semaphore until the owner thread delivers.
    func block<R: Sendable>(
        fd: Int32,
        moreFDs: [Int32],
        timeout: Int64?,
        closed: R?,
        _ attempt: (inout Stack, inout Effects) -> R?
    ) -> R? {
        var out: R? = nil
        withoutActuallyEscaping(
            { (stack: inout Stack, effects: inout Effects, isClosed: Bool) -> Bool in
                if isClosed {
                    out = closed
                    return true
                }
                guard let r = attempt(&stack, &effects) else { return false }
                out = r
                return true
            },
            do: { body in
                let slot = BlockingWaiter.current
                slot.prepare(fd: fd, moreFDs: moreFDs, timeout: timeout)
                slot.body = body
                enqueue(slot)
                slot.done.wait()
            }
        )
        return out
    }

    /// Queues `attempt` to the owner thread without waiting: it runs there now, again after
    /// every batch of socket events, until it returns a value or `timeout` nanoseconds pass
    /// (nil: no limit; 0: one try). `completion` is then called once, on the owner thread, with
    /// the value — or with nil on timeout, on `cancel()` of the returned call, or when the host
    /// is (or gets) stopped. Keep `completion` short: resume a continuation, signal a thread.
    ///
    /// The non-blocking form of `call`, for async code: no thread waits for the answer.
    @discardableResult
    public func submit<R: Sendable>(
        timeout: Int64?,
        attempt: @escaping @Sendable (inout Stack, inout Effects) -> R?,
        completion: @escaping @Sendable (R?) -> Void
    ) -> SubmittedCall {
        let w = AsyncWaiter<R>(fd: -1, timeout: timeout, closedValue: nil, attempt)
        w.completion = completion
        submit(w)
        return SubmittedCall(host: self, waiter: w)
    }

    /// `submit` for a call that waits on the socket open under `fd`: retried on that socket's
    /// events only; closing the socket completes it with `EBADF` (see `call(socket:timeout:_:)`).
    @discardableResult
    public func submit<T: Sendable>(
        socket fd: Int32,
        timeout: Int64?,
        attempt: @escaping @Sendable (inout Stack, inout Effects) -> Result<T, Errno>?,
        completion: @escaping @Sendable (Result<T, Errno>?) -> Void
    ) -> SubmittedCall {
        let w = AsyncWaiter<Result<T, Errno>>(
            fd: fd,
            timeout: timeout,
            closedValue: .failure(.closedWhileWaiting),
            attempt
        )
        w.completion = completion
        submit(w)
        return SubmittedCall(host: self, waiter: w)
    }

    /// Hands an async waiter to the owner thread (after which a cancellation reaches it).
    func submit(_ w: Waiter) {
        w.enqueued.store(true, ordering: .sequentiallyConsistent)
        enqueue(w)
    }

    /// Queues `w` to the owner thread. When the host is stopped (or never started) the call is
    /// taken back and delivered nil here, unless the owner thread's final sweep already ended
    /// it, so it completes exactly once.
    func enqueue(_ w: Waiter) {
        requests.withLock { $0.append(w) }
        if running.load(ordering: .sequentiallyConsistent) {
            wake.signal()
            return
        }
        let mine = requests.withLock { r in
            let before = r.count
            r.removeAll { $0 === w }
            return r.count != before
        }
        if mine {
            w.state = .done
            w.deliver()
        }
    }

    /// Asks the owner thread to end `w` early (`SubmittedCall.cancel`), once it has it.
    func cancel(_ w: Waiter) {
        guard !w.cancelled.exchange(true, ordering: .sequentiallyConsistent) else { return }
        // Not yet handed over: the owner thread sees the flag when it takes the call.
        guard w.enqueued.load(ordering: .sequentiallyConsistent) else { return }
        requests.withLock { $0.append(w) }
        wake.signal()
    }

    /// Runs `body` once on the owner thread and returns its result.
    ///
    /// On a host that is stopped (or not yet started) `body` runs on the calling thread, one
    /// call at a time, against the stack as the owner thread left it: calls still answer
    /// (`close`, `getsockopt`, `netstat`), but nothing they produce is sent.
    public func perform<R: Sendable>(_ body: (inout Stack, inout Effects) -> R) -> R {
        if let r = call(timeout: nil, { s, e in body(&s, &e) }) { return r }
        return ownerAccess.withLock { _ in
            let r = body(&stack, &effects)
            effects.removeAll()
            return r
        }
    }

    /// Attempts made after an event, rather than as a call's first try, since the host started
    /// (read on the owner thread, e.g. in `perform`): for tests that a socket's events retry
    /// its own waiters only.
    var retries: Int { waiters.retries }

    // MARK: - The owner thread

    func run() {
        // Held while the owner thread owns the stack, so that `perform` on a stopped host
        // waits for the thread's last turn before it touches the stack.
        ownerAccess.withLock { _ in runLoop() }
    }

    func runLoop() {
        var poller = Poller(fds: [device.readinessDescriptor, wake.fd])
        // What the applications' start produced (a SYN, say) goes out before the first wait.
        flush(now: MonotonicClock.now())
        while running.load(ordering: .relaxed) {
            let before = MonotonicClock.now()
            var deadline = stack.nextDeadline()
            if let d = waiters.earliestDeadline, deadline == nil || d < deadline! { deadline = d }
            if let d = faultPipe?.nextDelivery, deadline == nil || d < deadline! { deadline = d }
            for app in applications {
                if let d = app.nextDeadline, deadline == nil || d < deadline! { deadline = d }
            }
            let timeout = deadline.map { max(0, $0.nanoseconds(since: before)) }
            _ = try? poller.wait(timeout: timeout)
            let now = MonotonicClock.now()
            stack.advance(to: now, into: &effects)
            if poller.isReadable(wake.fd) { _ = wake.drain() }
            takeRequests(now: now)
            readFrames(now: now)
            if faultPipe != nil {
                faultPipe!.deliverDue(now: now) { endpoint, frame in
                    if endpoint == 0 {
                        stack.receive(frame: frame, interface: 0, now: now, into: &effects)
                    } else {
                        try? device.transmit(frame, offload: .none)
                    }
                }
            }
            for app in applications {
                if let d = app.nextDeadline, d <= now { app.advance(to: now, stack: &stack, effects: &effects) }
            }
            stack.advance(to: now, into: &effects)
            flush(now: now)
        }
        // Fail whatever still waits, each call once.
        waiters.finishAll()
        for w in requests.withLock({ r in
            defer { r.removeAll() }
            return r
        }) where w.state != .done {
            w.state = .done
            w.deliver()
        }
    }

    func takeRequests(now: Instant) {
        // Swap the list out under the lock: no copy, and nothing allocated on an idle turn.
        var new = spareRequests
        requests.withLock { r in swap(&r, &new) }
        defer {
            new.removeAll(keepingCapacity: true)
            spareRequests = new
        }
        for w in new {
            switch w.state {
            case .done: continue  // a cancellation that came after the call ended
            case .parked:
                // Here again: cancelled while parked.
                if w.isCancelled { waiters.finish(w) }
                continue
            case .queued:
                break
            }
            if w.isCancelled {
                waiters.finish(w)
                continue
            }
            let open = w.resolveIDs(in: stack)
            if w.attempt(&stack, &effects) {
                waiters.finish(w)
                continue
            }
            if !open {
                // It would wait on a descriptor that names no socket.
                w.keepClosed(&stack, &effects)
                waiters.finish(w)
                continue
            }
            if let t = w.timeout {
                if t <= 0 {
                    waiters.finish(w)
                    continue
                }
                w.deadline = now.adding(nanoseconds: t)
            }
            waiters.park(w)
        }
    }

    func readFrames(now: Instant) {
        // In-order data read in one turn draws one cumulative ACK, sent when the timers due
        // now fire after the batch (`Stack.coalescesAcknowledgments`).
        stack.coalescesAcknowledgments = true
        defer { stack.coalescesAcknowledgments = false }
        // Bounded per turn so timers and calls keep their turn under a flood.
        for _ in 0..<Self.receiveBatchesPerTurn {
            receiveBatch.removeAll()
            // Frames received before a failure are still in the batch.
            _ = try? device.receive(into: &receiveBatch)
            receiveBatch.forEachFrame { frame, offload in
                pcap?.write(frame: frame, offload: offload, at: now)
                if faultPipe != nil {
                    // The fault injector moves bare frames: a device with offloads is not
                    // combined with it (the tool turns offloads off with --faults).
                    faultPipe!.send(from: 1, frame: frame, now: now)
                } else {
                    stack.receive(frame: frame, interface: 0, now: now, offload: offload, into: &effects)
                }
            }
            // Room left: the device had no more frames.
            if receiveBatch.hasRoom { break }
        }
        receiveBatch.removeAll()
    }

    /// Sends the frames the stack produced and hands out its events, until both are empty.
    func flush(now: Instant) {
        for _ in 0..<64 {
            if effects.frames.isEmpty && effects.events.isEmpty {
                expireWaiters(now: now)
                return
            }
            if pcap != nil || faultPipe != nil {
                effects.frames.forEachFrame { _, frame in
                    pcap?.write(frame: frame, at: now)
                    faultPipe?.send(from: 0, frame: frame, now: now)
                }
            }
            if faultPipe == nil { _ = try? device.transmit(effects.frames) }
            effects.frames.removeAll()
            guard !effects.events.isEmpty else { continue }
            // Take the events out (swapping arrays, so nothing is allocated): handlers may
            // produce new ones, handled on the next turn.
            var events: [SocketEvent] = []
            swap(&events, &spareEvents)
            swap(&events, &effects.events)
            for (i, e) in events.enumerated() {
                // The core reports a socket once per segment; one report per batch is enough.
                if i > 0 && events[i - 1] == e { continue }
                for o in observers { o(e) }
                for app in applications { app.handle(e, stack: &stack, effects: &effects) }
                if case .changed(let id) = e { waiters.changed(id) }
            }
            events.removeAll(keepingCapacity: true)
            spareEvents = events
            // Each socket's own waiters, then the calls about no socket.
            waiters.retryWoken(&stack, &effects)
            waiters.retryUnbound(&stack, &effects)
        }
    }

    func expireWaiters(now: Instant) {
        waiters.expire(now: now)
    }
}
