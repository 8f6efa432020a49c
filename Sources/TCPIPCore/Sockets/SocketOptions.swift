/// A socket option, by the name a C programmer uses (`setsockopt(fd, SOL_SOCKET, SO_RCVBUF, …)`).
public enum SocketOption: String, CaseIterable, Sendable {
    case soRcvBuf = "SO_RCVBUF"
    case soSndBuf = "SO_SNDBUF"
    case soError = "SO_ERROR"
    case soReuseAddr = "SO_REUSEADDR"
    case soKeepAlive = "SO_KEEPALIVE"
    case soLinger = "SO_LINGER"
    case tcpNoDelay = "TCP_NODELAY"
    case tcpMaxSeg = "TCP_MAXSEG"
    case tcpKeepIdle = "TCP_KEEPIDLE"
    case tcpKeepIntvl = "TCP_KEEPINTVL"
    case tcpKeepCnt = "TCP_KEEPCNT"
    case tcpUserTimeout = "TCP_USER_TIMEOUT"

    /// True for the TCP-level options (`IPPROTO_TCP`), which a datagram socket does not have.
    public var isTCPLevel: Bool { rawValue.hasPrefix("TCP_") }
    /// True for options whose value is a boolean.
    public var isBoolean: Bool { self == .soReuseAddr || self == .soKeepAlive || self == .tcpNoDelay }
}

/// A socket's option values.
struct SocketOptions {
    var receiveBuffer: Int
    var sendBuffer: Int
    var reuseAddress = false
    var keepAlive = false
    /// Linger time in seconds; nil when off.
    var linger: Int?
    var noDelay = false
    var maxSegment: Int?
    var keepIdle = 7200
    var keepInterval = 75
    var keepCount = 9
    var userTimeout = 0
}
