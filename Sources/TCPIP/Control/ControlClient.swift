import Foundation
import TCPIPCore
import TCPIPDrivers

/// Why a `ControlClient` call failed.
public enum ControlClientError: Error, Sendable, CustomStringConvertible {
    /// The stack answered the call with this error (`{"ok": false, …}`).
    case call(Errno)
    /// The control connection failed, or its answer was not a response line.
    case connection(String)

    /// The stack's error; nil for a connection failure.
    public var errno: Errno? {
        if case .call(let e) = self { return e }
        return nil
    }

    /// `ECONNREFUSED: connection refused`, or `control connection: …`.
    public var description: String {
        switch self {
        case .call(let e): return "\(e.name): \(e.message)"
        case .connection(let text): return "control connection: \(text)"
        }
    }
}

/// One response line of the control protocol, parsed.
public struct ControlResponse: @unchecked Sendable, CustomStringConvertible {
    // `@unchecked`: the members come from `JSONSerialization` (numbers, strings, arrays,
    // dictionaries, `NSNull`), which nothing mutates.

    /// The response's members (`ok`, and the results or `error`/`message`).
    public let fields: [String: Any]
    /// The line as received.
    public let line: String

    /// Parses `line`; nil when it is not a JSON object with a boolean `ok`.
    public init?(line: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)),
            let fields = object as? [String: Any], fields["ok"] is Bool
        else { return nil }
        self.fields = fields
        self.line = line
    }

    /// True for `"ok": true`.
    public var ok: Bool { fields["ok"] as? Bool ?? false }

    /// The error of a failed call (`error` and `message`); nil when it succeeded.
    public var error: Errno? {
        guard !ok else { return nil }
        let name = fields["error"] as? String ?? "EUNKNOWN"
        let message = fields["message"] as? String ?? ""
        return Errno(name, Self.codes[name] ?? 0, message)
    }

    /// A result member; nil when absent or null.
    public subscript(key: String) -> Any? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        return v
    }

    /// An integer result member.
    public func int(_ key: String) -> Int? {
        guard let n = self[key] as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
        return n.intValue
    }

    /// A string result member.
    public func string(_ key: String) -> String? { self[key] as? String }

    /// A base64 result member, decoded.
    public func bytes(_ key: String = "data") -> [UInt8]? {
        guard let s = string(key), let d = Data(base64Encoded: s) else { return nil }
        return [UInt8](d)
    }

    /// The response itself when the call succeeded; its error otherwise.
    public func get() throws(ControlClientError) -> ControlResponse {
        if let e = error { throw .call(e) }
        return self
    }

    public var description: String { line }

    /// Linux errno values by name, for the errors a stack answers with.
    static let codes: [String: Int32] = {
        let known: [Errno] = [
            .EPERM, .EBADF, .EAGAIN, .ENOMEM, .EACCES, .EINVAL, .EMFILE, .EPIPE, .EPROTO, .EDESTADDRREQ, .EMSGSIZE,
            .EPROTOTYPE, .ENOPROTOOPT, .EOPNOTSUPP, .EAFNOSUPPORT, .EADDRINUSE, .EADDRNOTAVAIL, .ENETDOWN,
            .ENETUNREACH, .ECONNABORTED, .ECONNRESET, .ENOBUFS, .EISCONN, .ENOTCONN, .ETIMEDOUT, .ECONNREFUSED,
            .EHOSTDOWN, .EHOSTUNREACH, .EALREADY, .EINPROGRESS,
        ]
        var codes = Dictionary(uniqueKeysWithValues: known.map { ($0.name, $0.code) })
        codes["ECANCELED"] = 125
        codes["EUSERS"] = Errno.EUSERS.code
        return codes
    }()
}

/// A client of the control protocol (CONTROL-PROTOCOL.md): makes socket calls on a running
/// stack (`tcpip serve --control PATH`) from another process, one request line and one
/// response line at a time.
///
/// Calls may be made from several threads; they take turns on the one connection (a call
/// that blocks in the stack holds up the others: open a second client to wait in parallel).
///
/// ```swift
/// let client = try ControlClient(path: "/tmp/tcpip.sock")
/// let fd = try client.socket(.stream)
/// try client.connect(fd, address: IPv4Address("10.99.0.1")!, port: 8000)
/// _ = try client.send(fd, Array("GET / HTTP/1.0\r\n\r\n".utf8))
/// let (bytes, eof) = try client.receive(fd, max: 65536)
/// try client.close(fd)
/// ```
public final class ControlClient: Sendable {
    /// The control socket's path.
    public let path: String
    let connection: UnixStreamConnection
    /// Bytes read past the last response line; the lock also keeps exchanges whole.
    let pending = Locked<[UInt8]>([])

    /// Connects to the control socket at `path`.
    public init(path: String) throws(DriverError) {
        self.path = path
        connection = try UnixStreamConnection.connect(path: path)
    }

    // MARK: - Requests

    /// Sends one request line (without its newline) and returns the response line.
    public func exchange(_ line: String) throws(ControlClientError) -> String {
        try pending.withLock { (buffer: inout [UInt8]) throws(ControlClientError) -> String in
            do throws(DriverError) {
                try connection.writeAll(Array((line + "\n").utf8))
            } catch {
                throw .connection(error.description)
            }
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            var searched = 0
            while true {
                if let newline = buffer[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                    let response = String(decoding: buffer[..<newline], as: UTF8.self)
                    buffer.removeSubrange(...newline)
                    return response
                }
                searched = buffer.count
                let n: Int
                do throws(DriverError) {
                    n = try connection.read(into: &chunk)
                } catch {
                    throw .connection(error.description)
                }
                if n == 0 { throw .connection("the stack closed the connection") }
                buffer.append(contentsOf: chunk[..<n])
            }
        }
    }

    /// Makes the call `op` with `arguments` and returns its response, failed or not.
    public func request(
        _ op: String,
        _ arguments: [(String, JSONValue)] = []
    ) throws(ControlClientError) -> ControlResponse {
        let line = try exchange(JSONValue.object([("op", .string(op))] + arguments).serialized)
        guard let response = ControlResponse(line: line) else { throw .connection("not a response line: \(line)") }
        return response
    }

    /// Makes the call `op` with `arguments`; fails with the stack's error.
    @discardableResult
    public func call(
        _ op: String,
        _ arguments: [(String, JSONValue)] = []
    ) throws(ControlClientError) -> ControlResponse {
        try request(op, arguments).get()
    }

    // MARK: - Socket calls

    /// `socket`: a new descriptor.
    public func socket(_ type: SocketType) throws(ControlClientError) -> Int32 {
        try Self.fd(call("socket", [("type", .string(type == .stream ? "stream" : "dgram"))]), "fd")
    }

    /// `bind` to `address` (nil: every address) and `port` (0: ephemeral).
    public func bind(_ fd: Int32, port: UInt16, address: IPv4Address? = nil) throws(ControlClientError) {
        var args: [(String, JSONValue)] = [("fd", .int(Int(fd))), ("port", .int(Int(port)))]
        if let address { args.append(("address", .string(address.description))) }
        try call("bind", args)
    }

    /// `listen` (backlog nil: the stack's default, 128).
    public func listen(_ fd: Int32, backlog: Int? = nil) throws(ControlClientError) {
        try call("listen", [("fd", .int(Int(fd))), ("backlog", .int(backlog))])
    }

    /// `accept`: the new descriptor and the peer.
    public func accept(
        _ fd: Int32,
        timeoutMilliseconds: Int? = nil
    ) throws(ControlClientError) -> (
        fd: Int32, address: IPv4Address, port: UInt16
    ) {
        let r = try call("accept", [("fd", .int(Int(fd))), ("timeout_ms", .int(timeoutMilliseconds))])
        return (try Self.fd(r, "fd"), try Self.address(r, "address"), try Self.port(r, "port"))
    }

    /// `connect`: waits for the handshake (then `EINPROGRESS` on timeout).
    public func connect(
        _ fd: Int32,
        address: IPv4Address,
        port: UInt16,
        timeoutMilliseconds: Int? = nil
    )
        throws(ControlClientError)
    {
        try call(
            "connect",
            [
                ("fd", .int(Int(fd))), ("address", .string(address.description)), ("port", .int(Int(port))),
                ("timeout_ms", .int(timeoutMilliseconds)),
            ]
        )
    }

    /// `send`: the count of bytes taken (maybe fewer than given).
    public func send(_ fd: Int32, _ bytes: [UInt8], timeoutMilliseconds: Int? = nil) throws(ControlClientError) -> Int {
        let r = try call(
            "send",
            [("fd", .int(Int(fd))), ("data", .base64(bytes)), ("timeout_ms", .int(timeoutMilliseconds))]
        )
        return try Self.int(r, "bytes")
    }

    /// `sendto`: one datagram.
    public func sendTo(
        _ fd: Int32,
        _ bytes: [UInt8],
        address: IPv4Address,
        port: UInt16,
        timeoutMilliseconds: Int? = nil
    ) throws(ControlClientError) -> Int {
        let r = try call(
            "sendto",
            [
                ("fd", .int(Int(fd))), ("data", .base64(bytes)), ("address", .string(address.description)),
                ("port", .int(Int(port))), ("timeout_ms", .int(timeoutMilliseconds)),
            ]
        )
        return try Self.int(r, "bytes")
    }

    /// `recv`: bytes, and whether the end of the stream was reached.
    public func receive(
        _ fd: Int32,
        max: Int,
        timeoutMilliseconds: Int? = nil
    ) throws(ControlClientError) -> (
        bytes: [UInt8], eof: Bool
    ) {
        let r = try call(
            "recv",
            [("fd", .int(Int(fd))), ("max", .int(max)), ("timeout_ms", .int(timeoutMilliseconds))]
        )
        return (r.bytes() ?? [], r["eof"] as? Bool ?? false)
    }

    /// `recvfrom`: one datagram and its sender.
    public func receiveFrom(
        _ fd: Int32,
        max: Int,
        timeoutMilliseconds: Int? = nil
    ) throws(ControlClientError) -> (
        bytes: [UInt8], address: IPv4Address, port: UInt16
    ) {
        let r = try call(
            "recvfrom",
            [("fd", .int(Int(fd))), ("max", .int(max)), ("timeout_ms", .int(timeoutMilliseconds))]
        )
        return (r.bytes() ?? [], try Self.address(r, "address"), try Self.port(r, "port"))
    }

    /// `shutdown`.
    public func shutdown(_ fd: Int32, how: ShutdownHow) throws(ControlClientError) {
        try call("shutdown", [("fd", .int(Int(fd))), ("how", .string(how.rawValue))])
    }

    /// `close` (waits while a positive `SO_LINGER` lingers).
    public func close(_ fd: Int32) throws(ControlClientError) {
        try call("close", [("fd", .int(Int(fd)))])
    }

    /// `setsockopt`: `value` is `.bool`, `.int` or `.null` (`SO_LINGER` off).
    public func setOption(_ fd: Int32, _ option: SocketOption, _ value: JSONValue) throws(ControlClientError) {
        try call("setsockopt", [("fd", .int(Int(fd))), ("option", .string(option.rawValue)), ("value", value)])
    }

    /// `getsockopt`: the value as JSON gave it (a boolean, a number, a string for `SO_ERROR`,
    /// or nil for null).
    public func option(_ fd: Int32, _ option: SocketOption) throws(ControlClientError) -> (any Sendable)? {
        let r = try call("getsockopt", [("fd", .int(Int(fd))), ("option", .string(option.rawValue))])
        if let b = r["value"] as? NSNumber, String(cString: b.objCType) == "c" { return b.boolValue }
        if let i = r.int("value") { return i }
        return r.string("value")
    }

    /// `getsockname` (`peer`: `getpeername`).
    public func address(
        _ fd: Int32,
        peer: Bool = false
    ) throws(ControlClientError) -> (address: IPv4Address, port: UInt16) {
        let r = try call(peer ? "getpeername" : "getsockname", [("fd", .int(Int(fd)))])
        return (try Self.address(r, "address"), try Self.port(r, "port"))
    }

    /// `poll`: the descriptors ready, with their events (`in`, `out`, `err`, `hup`).
    public func poll(
        _ fds: [Int32],
        events: [String],
        timeoutMilliseconds: Int? = nil
    ) throws(ControlClientError) -> [(
        fd: Int32, events: [String]
    )] {
        let r = try call(
            "poll",
            [
                ("fds", .array(fds.map { .int(Int($0)) })), ("events", .array(events.map { .string($0) })),
                ("timeout_ms", .int(timeoutMilliseconds)),
            ]
        )
        let ready = r["ready"] as? [[String: Any]] ?? []
        return ready.map { entry in
            (Int32((entry["fd"] as? Int) ?? -1), (entry["events"] as? [String]) ?? [])
        }
    }

    // MARK: - Result members

    static func int(_ r: ControlResponse, _ key: String) throws(ControlClientError) -> Int {
        guard let v = r.int(key) else { throw .connection("response lacks '\(key)': \(r.line)") }
        return v
    }

    static func fd(_ r: ControlResponse, _ key: String) throws(ControlClientError) -> Int32 {
        guard let v = Int32(exactly: try int(r, key)) else { throw .connection("bad '\(key)': \(r.line)") }
        return v
    }

    static func port(_ r: ControlResponse, _ key: String) throws(ControlClientError) -> UInt16 {
        guard let v = UInt16(exactly: try int(r, key)) else { throw .connection("bad '\(key)': \(r.line)") }
        return v
    }

    static func address(_ r: ControlResponse, _ key: String) throws(ControlClientError) -> IPv4Address {
        guard let s = r.string(key), let a = IPv4Address(s) else { throw .connection("bad '\(key)': \(r.line)") }
        return a
    }
}
