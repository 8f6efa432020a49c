/// A socket call's failure, named as the same failure is on Linux (`ECONNREFUSED`, …).
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The Linux errno value.
    public var code: Int32
    /// The POSIX name, e.g. `"EADDRINUSE"`.
    public var name: String
    /// What happened, in words.
    public var message: String

    /// Creates an error with a name, Linux code and message.
    public init(_ name: String, _ code: Int32, _ message: String) {
        self.name = name
        self.code = code
        self.message = message
    }

    /// The same error with another message.
    public func with(_ message: String) -> Errno { Errno(name, code, message) }

    public static func == (a: Errno, b: Errno) -> Bool { a.code == b.code }
    public func hash(into h: inout Hasher) { h.combine(code) }
    public var description: String { "\(name): \(message)" }

    public static let EPERM = Errno("EPERM", 1, "operation not permitted")
    public static let EBADF = Errno("EBADF", 9, "bad file descriptor")
    public static let EAGAIN = Errno("EAGAIN", 11, "resource temporarily unavailable")
    public static let ENOMEM = Errno("ENOMEM", 12, "out of memory")
    public static let EACCES = Errno("EACCES", 13, "permission denied")
    public static let EINVAL = Errno("EINVAL", 22, "invalid argument")
    public static let EMFILE = Errno("EMFILE", 24, "too many open sockets")
    public static let EPIPE = Errno("EPIPE", 32, "broken pipe")
    public static let EPROTO = Errno("EPROTO", 71, "protocol error")
    public static let EDESTADDRREQ = Errno("EDESTADDRREQ", 89, "destination address required")
    public static let EMSGSIZE = Errno("EMSGSIZE", 90, "message too long")
    public static let EPROTOTYPE = Errno("EPROTOTYPE", 91, "protocol wrong type for socket")
    public static let ENOPROTOOPT = Errno("ENOPROTOOPT", 92, "protocol not available")
    public static let EOPNOTSUPP = Errno("EOPNOTSUPP", 95, "operation not supported")
    public static let EAFNOSUPPORT = Errno("EAFNOSUPPORT", 97, "address family not supported")
    public static let EADDRINUSE = Errno("EADDRINUSE", 98, "address already in use")
    public static let EADDRNOTAVAIL = Errno("EADDRNOTAVAIL", 99, "cannot assign requested address")
    public static let ENETDOWN = Errno("ENETDOWN", 100, "network is down")
    public static let ENETUNREACH = Errno("ENETUNREACH", 101, "network is unreachable")
    public static let ECONNABORTED = Errno("ECONNABORTED", 103, "software caused connection abort")
    public static let ECONNRESET = Errno("ECONNRESET", 104, "connection reset by peer")
    public static let ENOBUFS = Errno("ENOBUFS", 105, "no buffer space available")
    public static let EISCONN = Errno("EISCONN", 106, "socket is already connected")
    public static let ENOTCONN = Errno("ENOTCONN", 107, "socket is not connected")
    public static let ETIMEDOUT = Errno("ETIMEDOUT", 110, "connection timed out")
    public static let ECONNREFUSED = Errno("ECONNREFUSED", 111, "connection refused")
    public static let EHOSTDOWN = Errno("EHOSTDOWN", 112, "host is down")
    public static let EHOSTUNREACH = Errno("EHOSTUNREACH", 113, "no route to host")
    public static let EALREADY = Errno("EALREADY", 114, "operation already in progress")
    public static let EINPROGRESS = Errno("EINPROGRESS", 115, "operation now in progress")
}
