/// A stream socket's control block as `info` shows it.
public struct TCPInfo: Sendable, Equatable {
    public var state: TCPState
    public var sndUna: UInt32
    public var sndNxt: UInt32
    public var sndWnd: Int
    public var rcvNxt: UInt32
    public var rcvWnd: Int
    public var iss: UInt32
    public var irs: UInt32
    public var mss: Int
    public var srttMicroseconds: Int64?
    public var rttvarMicroseconds: Int64
    public var rtoMicroseconds: Int64
    public var cwnd: Int
    /// nil until the first loss sets it.
    public var ssthresh: Int?
    public var retransmitsTotal: Int
    public var backoff: Int
    public var windowScale: (send: Int, receive: Int)?
    public var sack: Bool
    public var timestamps: Bool
    /// Listeners: completed connections waiting for `accept`.
    public var acceptQueue: Int?
    /// Bytes not yet acknowledged or not yet sent.
    public var sendQueue: Int
    /// Bytes received and not yet read.
    public var receiveQueue: Int
    /// True once our FIN was acknowledged.
    public var finAcknowledged: Bool

    public static func == (a: TCPInfo, b: TCPInfo) -> Bool {
        a.state == b.state && a.sndUna == b.sndUna && a.sndNxt == b.sndNxt && a.rcvNxt == b.rcvNxt
    }
}

extension TCPInfo {
    /// The control block of a socket with no connection: a listener or a closed socket.
    static func unconnected(_ state: TCPState, acceptQueue: Int? = nil) -> TCPInfo {
        TCPInfo(
            state: state,
            sndUna: 0,
            sndNxt: 0,
            sndWnd: 0,
            rcvNxt: 0,
            rcvWnd: 0,
            iss: 0,
            irs: 0,
            mss: 0,
            srttMicroseconds: nil,
            rttvarMicroseconds: 0,
            rtoMicroseconds: 0,
            cwnd: 0,
            ssthresh: nil,
            retransmitsTotal: 0,
            backoff: 0,
            windowScale: nil,
            sack: false,
            timestamps: false,
            acceptQueue: acceptQueue,
            sendQueue: 0,
            receiveQueue: 0,
            finAcknowledged: false
        )
    }
}
