import TCPIPCore
import TCPIPDrivers

/// One client of the control server, served on a thread of its own: reads JSON Lines, makes
/// each call and queues its response line, in order, until the client hangs up.
///
/// Responses are written without waiting: a client that does not read its replies never
/// blocks this thread's reading, and once the replies it has not taken pass
/// `ControlLimits.maxQueuedBytes` it is hung up on. A request line longer than
/// `maxLineBytes` is answered with one `EMSGSIZE` and discarded as it streams in.
final class ControlConnection: Sendable {
    let socket: UnixStreamConnection
    let calls: ControlCalls
    let limits: ControlLimits
    let counters: ControlCounters
    /// The client's number, for trace lines.
    let number: Int
    let trace: (@Sendable (ControlEvent) -> Void)?

    /// How much is read at a time (small: a thousand clients each hold one).
    static let chunkSize = 16 * 1024

    init(
        socket: UnixStreamConnection,
        calls: ControlCalls,
        limits: ControlLimits,
        counters: ControlCounters,
        number: Int,
        trace: (@Sendable (ControlEvent) -> Void)?
    ) {
        self.socket = socket
        self.calls = calls
        self.limits = limits
        self.counters = counters
        self.number = number
        self.trace = trace
    }

    /// Serves the client until it hangs up, the connection fails, it is shut down, or it is
    /// dropped for not reading its replies.
    func run() {
        var replies = ControlReplyQueue()
        var reader = ControlLineReader(maxLength: limits.maxLineBytes)
        var chunk = [UInt8](repeating: 0, count: Self.chunkSize)
        while true {
            let ready: UnixStreamReadiness
            do {
                ready = try socket.wait(writable: !replies.isEmpty, timeout: nil)
            } catch {
                return
            }
            if ready.writable {
                do { try replies.send(to: socket) } catch { return }
            }
            guard ready.readable else { continue }
            let n: Int
            do {
                n = try socket.read(into: &chunk)
            } catch {
                return
            }
            if n == 0 { return finish(&replies) }
            let ok = reader.feed(chunk[..<n]) { item in
                let before = replies.count
                switch item {
                case .line(let line): replies.append(respond(to: line))
                case .tooLong:
                    counters.requests.wrappingAdd(1, ordering: .relaxed)
                    counters.linesTooLong.wrappingAdd(1, ordering: .relaxed)
                    trace?(.lineTooLong(client: number, limit: limits.maxLineBytes))
                    let e = Errno.EMSGSIZE.with(
                        "request line longer than \(limits.maxLineBytes) bytes: refused, and discarded up to its newline"
                    )
                    replies.append(Self.failure(e))
                }
                do { try replies.send(to: socket) } catch { return false }
                // Replies the client left unread, and now more: it sends without reading.
                if before > 0 && replies.count > limits.maxQueuedBytes {
                    counters.slowReaders.wrappingAdd(1, ordering: .relaxed)
                    trace?(.slowReaderDropped(client: number, queued: replies.count, limit: limits.maxQueuedBytes))
                    return false
                }
                return true
            }
            if !ok { return }
        }
    }

    /// After the client's end of file: hands over the replies still queued (the client may
    /// have only shut down its sending side), until they are taken or the client goes.
    func finish(_ replies: inout ControlReplyQueue) {
        while !replies.isEmpty {
            do {
                let ready = try socket.wait(readable: false, writable: true, timeout: nil)
                try replies.send(to: socket)
                // An error or hang-up: the next send fails, or nothing will ever drain.
                if ready.readable && !ready.writable { return }
            } catch {
                return
            }
        }
    }

    /// The response line to one request line.
    func respond(to line: ArraySlice<UInt8>) -> String {
        counters.requests.wrappingAdd(1, ordering: .relaxed)
        var body = line
        if body.last == UInt8(ascii: "\r") { body = body.dropLast() }
        let request: ControlRequest
        do {
            request = try ControlRequest(line: body)
        } catch {
            if error == .EPROTO {
                counters.badLines.wrappingAdd(1, ordering: .relaxed)
                trace?(.badLine(client: number, message: error.message))
            }
            return Self.failure(error)
        }
        do {
            let results = try calls.perform(request)
            return JSONValue.object([("ok", .bool(true))] + results).serialized
        } catch {
            return Self.failure(error)
        }
    }

    /// `{"ok":false,"error":NAME,"message":TEXT}`.
    static func failure(_ error: Errno) -> String {
        JSONValue.object([("ok", .bool(false)), ("error", .string(error.name)), ("message", .string(error.message))])
            .serialized
    }
}
