import Synchronization
import TCPIPCore

/// A socket call handed to the owner thread: it runs there at once and, while it would block,
/// stays parked under the identities of the sockets it is about (`SocketWaiters`) until one
/// of their events, its deadline, its cancellation or `Host.stop` ends it.
///
/// The base class holds the owner thread's bookkeeping; subclasses hold the call and deliver
/// its value: `BlockingWaiter` (one per thread, reused, for blocking calls) and `AsyncWaiter`
/// (one per call, resuming a continuation or calling a completion). Apart from `cancelled`
/// and `enqueued`, its fields are touched on the owner thread only, and never after
/// `deliver()`: a blocking waiter may be reused by its thread as soon as it is delivered.
class Waiter: @unchecked Sendable {
    /// Where the call is in its life, on the owner thread.
    enum State {
        /// Handed over, not yet tried.
        case queued
        /// Tried, would block: registered in `SocketWaiters`.
        case parked
        /// Its value (or nil) has been delivered.
        case done
    }

    /// The descriptor the call is about; -1 for a call about no socket.
    var fd: Int32 = -1
    /// Further descriptors (`poll`); empty for other calls.
    var moreFDs: [Int32] = []
    /// Nanoseconds the call may wait (nil: no limit; 0: one try).
    var timeout: Int64?

    // Owner-thread state.
    var state = State.queued
    /// The identity of `fd`'s socket when the call was first tried.
    var id: SocketID?
    /// The identities of `moreFDs`' sockets.
    var moreIDs: [SocketID] = []
    var deadline: Instant?
    /// Position in `SocketWaiters.parked`.
    var parkedIndex = -1
    /// Position in the deadline heap; -1 when not in it.
    var heapIndex = -1

    /// Set by `SubmittedCall.cancel` (any thread).
    let cancelled = Atomic<Bool>(false)
    /// Set once the call has been handed to the owner thread (async calls).
    let enqueued = Atomic<Bool>(false)

    var isCancelled: Bool { cancelled.load(ordering: .sequentiallyConsistent) }

    /// True when the call is about at least one socket.
    var isAboutSockets: Bool { fd >= 0 || !moreFDs.isEmpty }

    /// Runs the call; true when it has its value (kept until `deliver`).
    func attempt(_ stack: inout Stack, _ effects: inout Effects) -> Bool { fatalError("abstract") }

    /// Keeps the value of a call whose socket was closed while it waited (`EBADF`).
    func keepClosed(_ stack: inout Stack, _ effects: inout Effects) { fatalError("abstract") }

    /// Hands the value kept (nil when none: timeout, cancellation, stop) to the caller. The
    /// owner thread's last touch of the waiter.
    func deliver() { fatalError("abstract") }

    /// Calls `body` with each identity the call waits on.
    func forEachID(_ body: (SocketID) -> Void) {
        if let id { body(id) }
        for other in moreIDs { body(other) }
    }

    /// True when every socket the call waits on is still the one it was first tried on.
    func socketsStillOpen(in stack: Stack) -> Bool {
        if let id, stack.socketID(id.descriptor) != id { return false }
        for other in moreIDs where stack.socketID(other.descriptor) != other { return false }
        return true
    }

    /// Records the identities of the sockets open under the call's descriptors; false when one
    /// of them is not open.
    func resolveIDs(in stack: Stack) -> Bool {
        var all = true
        id = nil
        moreIDs.removeAll(keepingCapacity: true)
        if fd >= 0 {
            id = stack.socketID(fd)
            all = id != nil
        }
        for other in moreFDs {
            guard let found = stack.socketID(other) else {
                all = false
                continue
            }
            // Each socket once, however often it is named.
            if found != id && !moreIDs.contains(found) { moreIDs.append(found) }
        }
        return all
    }
}

/// Errors of calls whose wait ended without the call's own answer.
extension Errno {
    /// The socket a call waited on was closed (by another thread) while it waited.
    static var closedWhileWaiting: Errno { .EBADF.with("the socket was closed while the call waited") }
}
