/// The bounds an `HTTPServerApplication` keeps against clients that never finish, never
/// close or send too much (slowloris and its kin). Each is counted in `statistics` (`stats`
/// section `http`) and traced when it strikes.
public struct HTTPServerLimits: Sendable, Equatable {
    /// The largest request head (request line and header fields, through the empty line), in
    /// bytes. A larger one gets `431 Request Header Fields Too Large` (RFC 6585 §5) and the
    /// connection is closed, as Node.js and Go's net/http answer (`drops.head_too_large`).
    /// Default 16 KiB, Node.js's.
    public var maxHeadBytes: Int
    /// How long a request head may take from its first byte to its empty line, however
    /// steadily it trickles in. Past it the client gets `408 Request Timeout` and the
    /// connection is closed, as nginx's `client_header_timeout` and Node.js's
    /// `headersTimeout` do (`drops.header_timeout`). Nanoseconds; default 30 s.
    public var headerTimeout: Int64
    /// How long a connection may make no progress — nothing received, nothing taken by the
    /// send buffer — before it is closed without a response: idle between requests, a
    /// request body that stalls, a response the client stopped reading (nginx's
    /// `keepalive_timeout` and `send_timeout`; `drops.idle_timeout`). Nanoseconds; default 60 s.
    public var idleTimeout: Int64

    /// The defaults: 16 KiB heads, 30 s for a head, 60 s without progress.
    public init(
        maxHeadBytes: Int = 16 * 1024,
        headerTimeout: Int64 = 30_000_000_000,
        idleTimeout: Int64 = 60_000_000_000
    ) {
        self.maxHeadBytes = max(64, maxHeadBytes)
        self.headerTimeout = max(1_000_000, headerTimeout)
        self.idleTimeout = max(1_000_000, idleTimeout)
    }

    /// How often the server looks for connections past a deadline: an eighth of the shorter
    /// timeout, between 10 ms and 1 s, so a deadline is kept to within that.
    var sweepInterval: Int64 { min(1_000_000_000, max(10_000_000, min(headerTimeout, idleTimeout) / 8)) }
}
