import Dispatch
import Foundation
import TCPIPCore

/// The waiter of a blocking call, one per thread and reused for every call the thread makes,
/// so a blocking call allocates nothing for its wait or its answer.
///
/// A thread makes one blocking call at a time, so its slot is free whenever a call begins. The
/// call lends the slot a closure that captures the caller's stack frame
/// (`withoutActuallyEscaping`: the caller waits until the owner thread is done with it, and the
/// owner drops the closure before it signals); the closure writes the answer straight into the
/// caller's frame. The semaphore is made once per thread.
final class BlockingWaiter: Waiter, @unchecked Sendable {
    /// The lent call: with `closed` false it runs the attempt (true when answered); with
    /// `closed` true it writes the "socket closed" answer.
    var body: ((inout Stack, inout Effects, _ closed: Bool) -> Bool)?
    let done = DispatchSemaphore(value: 0)

    override func attempt(_ stack: inout Stack, _ effects: inout Effects) -> Bool {
        body!(&stack, &effects, false)
    }

    override func keepClosed(_ stack: inout Stack, _ effects: inout Effects) {
        _ = body!(&stack, &effects, true)
    }

    override func deliver() {
        // The last touches: drop the lent closure, then wake the caller, which may reuse the slot.
        body = nil
        done.signal()
    }

    /// Gets the slot ready for a call.
    func prepare(fd: Int32, moreFDs: [Int32], timeout: Int64?) {
        self.fd = fd
        self.moreFDs = moreFDs
        self.timeout = timeout
        state = .queued
        deadline = nil
        parkedIndex = -1
        heapIndex = -1
    }

    /// The calling thread's slot, made on its first blocking call.
    static var current: BlockingWaiter {
        if let p = pthread_getspecific(slotKey) {
            return Unmanaged<BlockingWaiter>.fromOpaque(p).takeUnretainedValue()
        }
        let slot = BlockingWaiter()
        pthread_setspecific(slotKey, Unmanaged.passRetained(slot).toOpaque())
        return slot
    }
}

/// The thread-local key of `BlockingWaiter.current`; a thread's slot is released when it ends.
private let slotKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { p in
        if let p { Unmanaged<BlockingWaiter>.fromOpaque(p).release() }
    }
    precondition(status == 0, "pthread_key_create failed: \(status)")
    return key
}()
