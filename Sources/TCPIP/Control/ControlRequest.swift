import Foundation
import TCPIPCore

/// One request line of the control protocol, parsed: `{"op": NAME, ...arguments}`.
///
/// The typed accessors fail with `EINVAL` for a missing argument or one of the wrong type,
/// naming it, as CONTROL-PROTOCOL.md asks. JSON `null` counts as absent for optional arguments.
struct ControlRequest {
    /// The call's name.
    let op: String
    let fields: [String: Any]

    /// Parses one line (without its newline). `EPROTO` when it is not a JSON object, `EINVAL`
    /// when `op` is missing or not a string.
    init(line: some Collection<UInt8>) throws(Errno) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed])
        } catch {
            throw Errno.EPROTO.with("the line is not valid JSON")
        }
        guard let fields = object as? [String: Any] else {
            throw Errno.EPROTO.with("the line is not a JSON object")
        }
        guard let op = fields["op"] else { throw Errno.EINVAL.with("missing argument 'op'") }
        guard let name = op as? String else { throw Errno.EINVAL.with("argument 'op' must be a string") }
        self.op = name
        self.fields = fields
    }

    // MARK: Typed arguments

    /// The argument, or nil when absent or null.
    func value(_ key: String) -> Any? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        return v
    }

    /// True when `key` is present, even as null.
    func has(_ key: String) -> Bool { fields[key] != nil }

    /// A required integer.
    func int(_ key: String) throws(Errno) -> Int {
        guard let v = value(key) else { throw Self.missing(key) }
        guard let i = Self.integer(v) else { throw Self.wrongType(key, "an integer") }
        return i
    }

    /// An optional integer.
    func optionalInt(_ key: String) throws(Errno) -> Int? {
        guard let v = value(key) else { return nil }
        guard let i = Self.integer(v) else { throw Self.wrongType(key, "an integer") }
        return i
    }

    /// A required string.
    func string(_ key: String) throws(Errno) -> String {
        guard let v = value(key) else { throw Self.missing(key) }
        guard let s = v as? String else { throw Self.wrongType(key, "a string") }
        return s
    }

    /// An optional string.
    func optionalString(_ key: String) throws(Errno) -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v as? String else { throw Self.wrongType(key, "a string") }
        return s
    }

    /// A required list.
    func array(_ key: String) throws(Errno) -> [Any] {
        guard let v = value(key) else { throw Self.missing(key) }
        guard let a = v as? [Any] else { throw Self.wrongType(key, "a list") }
        return a
    }

    /// The `fd` argument. A number that cannot be a descriptor becomes -1, which the stack
    /// answers with `EBADF`, as the kernel does.
    func fd(_ key: String = "fd") throws(Errno) -> Int32 {
        Int32(exactly: try int(key)) ?? -1
    }

    /// A required port, 0…65535.
    func port(_ key: String = "port") throws(Errno) -> UInt16 {
        guard let p = UInt16(exactly: try int(key)) else {
            throw Errno.EINVAL.with("argument '\(key)' must be a port number, 0…65535")
        }
        return p
    }

    /// A required dotted-quad address.
    func address(_ key: String = "address") throws(Errno) -> IPv4Address {
        try Self.parseAddress(try string(key), key)
    }

    /// An optional dotted-quad address.
    func optionalAddress(_ key: String = "address") throws(Errno) -> IPv4Address? {
        guard let s = try optionalString(key) else { return nil }
        return try Self.parseAddress(s, key)
    }

    /// The base64 `data` argument, decoded.
    func data(_ key: String = "data") throws(Errno) -> [UInt8] {
        guard let bytes = Data(base64Encoded: try string(key)) else {
            throw Errno.EINVAL.with("argument '\(key)' is not valid base64")
        }
        return [UInt8](bytes)
    }

    /// A required non-negative byte count (`max`).
    func count(_ key: String) throws(Errno) -> Int {
        let n = try int(key)
        guard n >= 0 else { throw Errno.EINVAL.with("argument '\(key)' must not be negative") }
        return n
    }

    /// `timeout_ms` in nanoseconds: 5000 ms when absent, 0 for the non-blocking form.
    func timeout() throws(Errno) -> Int64 {
        guard let ms = try optionalInt("timeout_ms") else { return 5_000_000_000 }
        guard ms >= 0 else { throw Errno.EINVAL.with("argument 'timeout_ms' must not be negative") }
        let (ns, overflow) = Int64(ms).multipliedReportingOverflow(by: 1_000_000)
        return overflow ? Int64.max : ns
    }

    // MARK: JSON value checks

    /// True for JSON `true` and `false` (which Foundation also bridges to numbers).
    static func isBoolean(_ v: Any) -> Bool {
        guard let n = v as? NSNumber else { return false }
        return String(cString: n.objCType) == "c"
    }

    /// A JSON number with an integral value that fits an `Int`; nil for anything else,
    /// booleans included.
    static func integer(_ v: Any) -> Int? {
        guard v is NSNumber, !isBoolean(v) else { return nil }
        return v as? Int
    }

    static func parseAddress(_ s: String, _ key: String) throws(Errno) -> IPv4Address {
        guard let a = IPv4Address(s) else {
            throw Errno.EINVAL.with("argument '\(key)' must be a dotted-quad IPv4 address, not '\(s)'")
        }
        return a
    }

    static func missing(_ key: String) -> Errno { Errno.EINVAL.with("missing argument '\(key)'") }

    static func wrongType(_ key: String, _ type: String) -> Errno {
        Errno.EINVAL.with("argument '\(key)' must be \(type)")
    }
}

/// A JSON value to send, with object members in the order given (so every response starts
/// with `"ok"`); `ControlClient` builds its requests from it too.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case uint(UInt64)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// A string, or null.
    public static func string(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
    /// An integer, or null.
    public static func int(_ i: Int?) -> JSONValue { i.map { .int($0) } ?? .null }
    /// Bytes, base64-encoded.
    public static func base64(_ bytes: [UInt8]) -> JSONValue { .string(Data(bytes).base64EncodedString()) }

    /// The value as compact JSON text, on one line.
    public var serialized: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    /// A JSON string literal (RFC 8259 §7): quotes, backslashes and control characters escaped.
    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
