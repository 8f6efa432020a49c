import TCPIPCore

/// A call that no thread waits for (`Host.submit`, the async API): its value resumes a
/// continuation directly, or goes to a completion closure, on the owner thread. One object per
/// call, which is also what cancellation names.
final class AsyncWaiter<R: Sendable>: Waiter, @unchecked Sendable {
    let body: (inout Stack, inout Effects) -> R?
    /// The value for a call whose socket was closed while it waited.
    let closedValue: R?
    var value: R?
    var continuation: CheckedContinuation<R?, Never>?
    var completion: ((R?) -> Void)?

    init(
        fd: Int32,
        moreFDs: [Int32] = [],
        timeout: Int64?,
        closedValue: R?,
        _ body: @escaping (inout Stack, inout Effects) -> R?
    ) {
        self.body = body
        self.closedValue = closedValue
        super.init()
        self.fd = fd
        self.moreFDs = moreFDs
        self.timeout = timeout
    }

    override func attempt(_ stack: inout Stack, _ effects: inout Effects) -> Bool {
        guard let r = body(&stack, &effects) else { return false }
        value = r
        return true
    }

    override func keepClosed(_ stack: inout Stack, _ effects: inout Effects) { value = closedValue }

    override func deliver() {
        let v = value.take()
        if let c = continuation.take() {
            c.resume(returning: v)
        } else if let c = completion.take() {
            c(v)
        }
    }
}
