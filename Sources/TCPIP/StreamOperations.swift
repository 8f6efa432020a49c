import TCPIPCore

/// The steps of the stream calls that wait — connect, write-all and close with `SO_LINGER` —
/// as attempts for the owner thread, shared by the blocking API (`StreamSocket`, the control
/// server) and the async one (`AsyncConnection`). An attempt returns nil while the call must
/// keep waiting; `Host.call(socket:…)` or `Host.submit(socket:…)` run it again after each
/// event of its socket.
enum StreamOperations {
    /// An attempt made on the owner thread.
    typealias Attempt<R> = @Sendable (inout Stack, inout Effects) -> R?

    /// How `close` goes on after its first step.
    enum CloseStep: Sendable {
        /// The descriptor is closed.
        case closed
        /// A positive `SO_LINGER`: our FIN is queued; wait up to this many seconds for its
        /// acknowledgement, then close the descriptor — if it still names this socket.
        case linger(seconds: Int, socket: SocketID)
    }

    /// The first step of `connect(2)`: sends the SYN of a stream socket (true: the handshake
    /// now runs) or sets a datagram socket's peer (false: done).
    static func startConnect(fd: Int32, address: IPv4Address, port: UInt16) -> Attempt<Result<Bool, Errno>> {
        { stack, effects in
            stack.connect(fd, address: address, port: port, into: &effects).map { stack.socketType(fd) == .stream }
        }
    }

    /// The handshake's outcome: nil while it runs (the core answers a repeated connect with
    /// `EALREADY`); success once connected (`EISCONN`); otherwise the failure, e.g.
    /// `ECONNREFUSED` or `ETIMEDOUT`.
    static func connectOutcome(fd: Int32, address: IPv4Address, port: UInt16) -> Attempt<Result<Void, Errno>> {
        { stack, effects in
            switch stack.connect(fd, address: address, port: port, into: &effects) {
            case .success: return .success(())
            case .failure(let e) where e == .EALREADY: return nil
            case .failure(let e) where e == .EISCONN: return .success(())
            case .failure(let e): return .failure(e)
            }
        }
    }

    /// `body` made as a blocking socket call: nil (keep waiting) while it fails with `EAGAIN`
    /// and `fd` lacks the `awaiting` readiness; an `EAGAIN` while `fd` has it (e.g. a read after
    /// `shutdown(.read)`) is the answer.
    static func blocking<T: Sendable>(
        fd: Int32,
        awaiting: Readiness,
        _ body: @escaping @Sendable (inout Stack, inout Effects) -> Result<T, Errno>
    ) -> Attempt<Result<T, Errno>> {
        { stack, effects in
            let r = body(&stack, &effects)
            if case .failure(let e) = r, e == .EAGAIN, let ready = stack.readiness(fd), ready.isDisjoint(with: awaiting)
            {
                return nil
            }
            return r
        }
    }

    /// Sends every byte of `bytes`, as much as fits after each event, in one call: nil until
    /// all are taken; the first failure otherwise (the bytes before it were sent).
    static func sendAll(fd: Int32, _ bytes: [UInt8]) -> Attempt<Result<Void, Errno>> {
        let progress = Progress()
        return { stack, effects in
            while progress.sent < bytes.count {
                let r = bytes.withUnsafeBytes { all in
                    stack.send(fd, UnsafeRawBufferPointer(rebasing: all[progress.sent...]), into: &effects)
                }
                switch r {
                case .success(let n): progress.sent += n
                case .failure(let e) where e == .EAGAIN: return nil  // the buffer is full, or the handshake runs
                case .failure(let e): return .failure(e)
                }
            }
            return .success(())
        }
    }

    /// The first step of `close(2)`. With a positive `SO_LINGER` on a connection that still
    /// has to deliver our FIN (and has no unread data, which aborts it with a RST instead) it
    /// shuts the sending side down and asks the caller to wait; otherwise it closes now.
    static func startClose(fd: Int32) -> Attempt<Result<CloseStep, Errno>> {
        { stack, effects in
            guard let type = stack.socketType(fd) else {
                return .failure(.EBADF.with("descriptor \(fd) is not an open socket"))
            }
            if type == .stream, case .success(let linger?) = stack.option(fd, .soLinger), linger > 0,
                case .success(let info?) = stack.tcpInfo(fd), info.receiveQueue == 0, let id = stack.socketID(fd)
            {
                switch info.state {
                case .established, .closeWait:
                    _ = stack.shutdown(fd, how: .write, into: &effects)
                    return .success(.linger(seconds: linger, socket: id))
                case .finWait1, .closing, .lastAck:
                    if !info.finAcknowledged { return .success(.linger(seconds: linger, socket: id)) }
                default: break
                }
            }
            return stack.close(fd, into: &effects).map { .closed }
        }
    }

    /// Lingering: non-nil once our FIN is acknowledged or the connection is gone.
    static func lingerOver(_ id: SocketID) -> Attempt<Result<Void, Errno>> {
        { stack, _ in
            guard stack.socketID(id.descriptor) == id, case .success(let info?) = stack.tcpInfo(id.descriptor),
                !info.finAcknowledged
            else { return .success(()) }
            switch info.state {
            case .finWait1, .closing, .lastAck: return nil
            default: return .success(())
            }
        }
    }

    /// The last step of a lingering close: the descriptor goes; the connection, if still
    /// there, carries on without it. A descriptor closed meanwhile by another thread (and
    /// perhaps given to a new socket) is left alone: EBADF.
    static func finishClose(_ id: SocketID) -> Attempt<Result<Void, Errno>> {
        { stack, effects in
            guard stack.socketID(id.descriptor) == id else {
                return .failure(.EBADF.with("descriptor \(id.descriptor) was closed while lingering"))
            }
            return stack.close(id.descriptor, into: &effects)
        }
    }

    /// `bytes.count` bytes taken so far by `sendAll`; touched on the owner thread only.
    final class Progress: @unchecked Sendable {
        var sent = 0
    }
}

extension Host {
    /// A blocking `connect(2)`: starts the handshake and waits up to `timeout` nanoseconds
    /// (nil: no limit; 0: not at all) for its outcome. On expiry `EINPROGRESS`, while the
    /// handshake carries on. A datagram socket just takes the peer.
    func streamConnect(fd: Int32, address: IPv4Address, port: UInt16, timeout: Int64?) -> Result<Void, Errno> {
        let started = perform { stack, effects in
            StreamOperations.startConnect(fd: fd, address: address, port: port)(&stack, &effects)!
        }
        switch started {
        case .failure(let e): return .failure(e)
        case .success(false): return .success(())
        case .success(true): break
        }
        let outcome = call(
            socket: fd,
            timeout: timeout,
            StreamOperations.connectOutcome(fd: fd, address: address, port: port)
        )
        return outcome ?? .failure(.EINPROGRESS.with("the handshake is still running"))
    }

    /// A blocking `close(2)` that follows `SO_LINGER` (see `StreamOperations.startClose`).
    func streamClose(fd: Int32) -> Result<Void, Errno> {
        guard let step = call(timeout: nil, StreamOperations.startClose(fd: fd)) else {
            return perform { stack, effects in stack.close(fd, into: &effects) }
        }
        switch step {
        case .failure(let e): return .failure(e)
        case .success(.closed): return .success(())
        case .success(.linger(let seconds, let id)):
            _ = call(
                socket: fd,
                timeout: Int64(min(seconds, 1 << 30)) * 1_000_000_000,
                StreamOperations.lingerOver(id)
            )
            return call(timeout: nil, StreamOperations.finishClose(id))
                ?? perform { stack, effects in StreamOperations.finishClose(id)(&stack, &effects)! }
        }
    }

    /// Writes every byte of `bytes` to stream socket `fd`, waiting for buffer space as needed.
    func streamWriteAll(fd: Int32, _ bytes: [UInt8]) -> Result<Void, Errno> {
        call(socket: fd, timeout: nil, StreamOperations.sendAll(fd: fd, bytes))
            ?? .failure(.ENETDOWN.with("the host has stopped"))
    }

    // MARK: - Async

    /// `submit` awaited: `attempt`'s value, or nil on timeout, when the host has stopped or
    /// (if `cancellable`) when the task is cancelled. No thread waits meanwhile. With `fd` ≥ 0
    /// the call waits on that socket's events only, and closing the socket ends it with
    /// `closedValue`.
    ///
    /// The waiter is the call's one object: it holds the continuation, which the owner thread
    /// resumes directly, and it is what a cancellation names.
    func awaitCall<R: Sendable>(
        fd: Int32,
        timeout: Int64?,
        cancellable: Bool,
        closedValue: R?,
        _ attempt: @escaping StreamOperations.Attempt<R>
    ) async -> R? {
        let w = AsyncWaiter<R>(fd: fd, timeout: timeout, closedValue: closedValue, attempt)
        guard cancellable else {
            return await withCheckedContinuation { (continuation: CheckedContinuation<R?, Never>) in
                w.continuation = continuation
                submit(w)
            }
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<R?, Never>) in
                w.continuation = continuation
                submit(w)
            }
        } onCancel: {
            cancel(w)
        }
    }

    /// An async call about no socket, retried after every batch of events (see `awaitCall`).
    func callAsync<R: Sendable>(
        timeout: Int64?,
        cancellable: Bool = true,
        _ attempt: @escaping StreamOperations.Attempt<R>
    ) async -> R? {
        await awaitCall(fd: -1, timeout: timeout, cancellable: cancellable, closedValue: nil, attempt)
    }

    /// An async call on the socket open under `fd`, retried on its events only; closing the
    /// socket ends it with `EBADF` (see `Host.call(socket:timeout:_:)`).
    func callAsync<T: Sendable>(
        socket fd: Int32,
        timeout: Int64?,
        cancellable: Bool = true,
        _ attempt: @escaping StreamOperations.Attempt<Result<T, Errno>>
    ) async -> Result<T, Errno>? {
        await awaitCall(
            fd: fd,
            timeout: timeout,
            cancellable: cancellable,
            closedValue: .failure(.closedWhileWaiting),
            attempt
        )
    }

    /// Runs `body` once on the owner thread, awaited.
    func performAsync<R: Sendable>(
        _ body: @escaping @Sendable (inout Stack, inout Effects) -> R
    ) async throws(Errno) -> R {
        guard let r = await callAsync(timeout: nil, { s, e in body(&s, &e) }) else { throw Self.interrupted }
        return r
    }

    /// An async blocking call (see `StreamOperations.blocking`): `EAGAIN` after `timeout`,
    /// `ECANCELED` when the task is cancelled.
    func blockingAsync<T: Sendable>(
        fd: Int32,
        awaiting: Readiness,
        timeout: Int64?,
        _ body: @escaping @Sendable (inout Stack, inout Effects) -> Result<T, Errno>
    ) async -> Result<T, Errno> {
        if let r = await callAsync(
            socket: fd,
            timeout: timeout,
            StreamOperations.blocking(fd: fd, awaiting: awaiting, body)
        ) {
            return r
        }
        return .failure(Task.isCancelled ? Self.interrupted : .EAGAIN.with("timed out: the call would block"))
    }

    /// The error of an async call that ended because its task was cancelled (or the host
    /// stopped).
    static var interrupted: Errno {
        Task.isCancelled ? Errno("ECANCELED", 125, "the task was cancelled") : Errno.EAGAIN.with("the host has stopped")
    }
}
