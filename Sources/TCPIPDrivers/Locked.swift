import Glibc

/// A value that threads share, reached only under a pthread mutex.
///
/// The runtime's locks are these rather than `Synchronization.Mutex`: on Linux that one waits
/// on a futex directly, which ThreadSanitizer neither intercepts nor models, so every access
/// made under it is reported as a data race (`swift test --sanitize=thread`). A pthread mutex
/// is intercepted, so a real race still shows and a guarded access does not.
public final class Locked<Value> {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// A lock guarding `value`.
    public init(_ value: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        // Default attributes cannot fail to initialize (POSIX lists no error for them).
        pthread_mutex_init(mutex, nil)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value while holding the lock.
    @inline(__always)
    public func withLock<Result, Failure: Error>(
        _ body: (inout Value) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

// Every access to `value` is under the mutex.
extension Locked: @unchecked Sendable where Value: Sendable {}
