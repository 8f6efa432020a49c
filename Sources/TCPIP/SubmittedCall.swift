/// A call queued with `Host.submit`.
public struct SubmittedCall: Sendable {
    let host: Host
    let waiter: Waiter

    /// Ends the call early: unless it has already completed, its completion is called with nil
    /// on the owner thread, soon. Calling it again does nothing.
    public func cancel() { host.cancel(waiter) }
}
