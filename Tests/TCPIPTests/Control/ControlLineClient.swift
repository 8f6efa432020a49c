import Foundation
import TCPIPDrivers

/// A bare client of the control protocol for tests: writes one JSON object per line to the
/// server's Unix socket and reads one response line back. Its calls block: make them through
/// `Blocking.run`.
final class ControlLineClient: @unchecked Sendable {
    // `@unchecked`: used by one thread at a time (each call is one `Blocking.run`).
    let connection: UnixStreamConnection
    private var pending: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)

    init(path: String) throws {
        connection = try UnixStreamConnection.connect(path: path)
    }

    deinit { connection.close() }

    /// Sends `request` as one line and returns the response object.
    func call(_ request: [String: Any]) throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: request)
        let line = try exchange(String(decoding: data, as: UTF8.self))
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw ControlTestError("not a JSON object: \(line)")
        }
        return object
    }

    /// Sends one raw line (its newline added) and returns the response line.
    func exchange(_ line: String) throws -> String {
        try connection.writeAll(Array((line + "\n").utf8))
        guard let response = try readLine() else { throw ControlTestError("the server hung up") }
        return response
    }

    /// The next line from the server; nil once it has hung up (end of file, or a reset).
    func readLine() throws -> String? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            let n: Int
            do {
                n = try connection.read(into: &chunk)
            } catch {
                // A reset after the server hung up with our requests unread.
                if error.code == ECONNRESET { return nil }
                throw error
            }
            guard n > 0 else { return nil }
            pending += chunk[..<n]
        }
    }
}

/// A failure of the control test client itself.
struct ControlTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
