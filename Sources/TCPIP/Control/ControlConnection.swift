import TCPIPCore
import TCPIPDrivers

/// One client of the control server, served on a thread of its own: reads JSON Lines, makes
/// each call and writes its response line, in order, until the client hangs up.
final class ControlConnection: Sendable {
    /// The longest request line accepted (CONTROL-PROTOCOL.md: longer lines may get `EPROTO`).
    static let maxLineLength = 64 * 1024 * 1024

    let socket: UnixStreamConnection
    let calls: ControlCalls

    init(socket: UnixStreamConnection, calls: ControlCalls) {
        self.socket = socket
        self.calls = calls
    }

    /// Serves the client until it hangs up, the connection fails, or it is shut down.
    func run() {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        // After an over-long line: drop bytes until its end.
        var discarding = false
        while true {
            let n: Int
            do {
                n = try socket.read(into: &chunk)
            } catch {
                return
            }
            if n == 0 { return }
            var start = 0
            while let newline = chunk[start..<n].firstIndex(of: UInt8(ascii: "\n")) {
                if discarding {
                    discarding = false
                } else {
                    pending.append(contentsOf: chunk[start..<newline])
                    let ok = respond(to: pending)
                    pending.removeAll(keepingCapacity: pending.count <= 1 << 20)
                    if !ok { return }
                }
                start = newline + 1
            }
            if !discarding { pending.append(contentsOf: chunk[start..<n]) }
            if pending.count > Self.maxLineLength {
                pending = []
                discarding = true
                let refusal = Self.failure(Errno.EPROTO.with("request line longer than 64 MiB"))
                if !write(refusal) { return }
            }
        }
    }

    /// Answers one request line; false when the answer could not be written.
    func respond(to line: [UInt8]) -> Bool {
        var body = line[...]
        if body.last == UInt8(ascii: "\r") { body = body.dropLast() }
        return write(Self.response(to: body, calls: calls))
    }

    /// The response line (without newline) to one request line.
    static func response(to line: ArraySlice<UInt8>, calls: ControlCalls) -> String {
        do {
            let request = try ControlRequest(line: line)
            let results = try calls.perform(request)
            return JSONValue.object([("ok", .bool(true))] + results).serialized
        } catch {
            return failure(error)
        }
    }

    /// `{"ok":false,"error":NAME,"message":TEXT}`.
    static func failure(_ error: Errno) -> String {
        JSONValue.object([("ok", .bool(false)), ("error", .string(error.name)), ("message", .string(error.message))])
            .serialized
    }

    /// Writes one line; false when the client has gone.
    func write(_ text: String) -> Bool {
        var line = text
        line += "\n"
        do {
            try socket.writeAll(Array(line.utf8))
            return true
        } catch {
            return false
        }
    }
}
