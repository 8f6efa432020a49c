/// A step the stack took, in the words of the protocol stack. The pcap writer, the teaching
/// narration, tests and metrics all read the same events. With no sink set, nothing is built.
public enum TraceEvent: Sendable, CustomStringConvertible {
    /// A socket was created and given a descriptor.
    case socketCreated(fd: Int32, type: SocketType)
    /// A socket was bound to a local address and port.
    case socketBound(fd: Int32, address: IPv4Address, port: UInt16)
    /// A socket was closed and its descriptor freed.
    case socketClosed(fd: Int32)
    /// ARP: a request was broadcast asking who has `target`.
    case arpRequestSent(target: IPv4Address, attempt: Int)
    /// ARP: we answered a request for our address.
    case arpReplySent(to: IPv4Address, mac: MACAddress)
    /// ARP: a mapping entered or refreshed the neighbour cache.
    case arpLearned(address: IPv4Address, mac: MACAddress)
    /// ARP: a datagram waits for `target` to resolve.
    case arpQueued(target: IPv4Address, queued: Int)
    /// ARP: the cache was full; the stalest entry made room (with its queued datagrams).
    case arpEvicted(address: IPv4Address, dropped: Int)
    /// ARP: `target` did not answer; queued datagrams are dropped.
    case arpFailed(target: IPv4Address, dropped: Int)
    /// IP: a datagram was split into fragments.
    case ipFragmented(identification: UInt16, length: Int, fragments: Int, mtu: Int)
    /// IP: a fragmented datagram was put back together.
    case ipReassembled(identification: UInt16, length: Int, fragments: Int)
    /// IP: reassembly gave up on a datagram.
    case ipReassemblyTimedOut(identification: UInt16, source: IPv4Address)
    /// IP: an incomplete datagram was evicted to make room for a newer one.
    case ipReassemblyEvicted(identification: UInt16, source: IPv4Address)
    /// ICMP: an error was sent.
    case icmpErrorSent(type: UInt8, code: UInt8, to: IPv4Address)
    /// ICMP: an error reached a socket as `error`.
    case icmpErrorDelivered(fd: Int32, error: String)
    /// A frame, packet or segment was dropped.
    case dropped(DropReason)
    /// TCP: a connection changed state (RFC 9293 §3.3.2).
    case tcpStateChanged(local: UInt16, remote: IPv4Address, port: UInt16, from: TCPState, to: TCPState)
    /// TCP: a connection's control block was deleted.
    case tcpConnectionClosed(local: UInt16, remote: IPv4Address, port: UInt16)
    /// TCP: a listening socket is ready.
    case tcpListening(fd: Int32, port: UInt16)
    /// TCP: a completed connection waits in the accept queue.
    case tcpAcceptQueued(listener: Int32, remote: IPv4Address, port: UInt16)
    /// TCP: a listener's SYN queue was full; a SYN cookie answered the SYN (RFC 4987 §3.6).
    case tcpSynCookieSent(local: UInt16, remote: IPv4Address, port: UInt16)
    /// TCP: an ACK returned a valid SYN cookie; the connection was made from it.
    case tcpSynCookieAccepted(local: UInt16, remote: IPv4Address, port: UInt16)
    /// TCP: an ACK to a listener carried no valid SYN cookie; it is answered with a RST.
    case tcpSynCookieRejected(local: UInt16, remote: IPv4Address, port: UInt16)
    /// TCP: `accept` handed a connection out as a descriptor.
    case tcpAccepted(fd: Int32, remote: IPv4Address, port: UInt16)
    /// TCP: a segment was sent.
    case tcpSegmentSent(local: UInt16, seq: UInt32, ack: UInt32, flags: TCPFlags, length: Int, window: Int)
    /// TCP: an RTT was measured; the RTO it yields (RFC 6298).
    case tcpRTTMeasured(local: UInt16, rtt: Int64, rto: Int64)
    /// TCP: the retransmission timer fired.
    case tcpRetransmitTimeout(local: UInt16, seq: UInt32, rto: Int64)
    /// TCP: three duplicate ACKs; the first unacknowledged segment is sent again.
    case tcpFastRetransmit(local: UInt16, seq: UInt32)
    /// TCP: the peer's window changed.
    case tcpWindowChanged(local: UInt16, window: Int)
    /// TCP: reading opened our window; an update is sent.
    case tcpWindowUpdate(local: UInt16, window: Int)

    public var description: String {
        switch self {
        case .socketCreated(let fd, let type): return "socket created: \(type) socket, descriptor \(fd)"
        case .socketBound(let fd, let a, let p): return "socket \(fd) bound to \(a):\(p)"
        case .socketClosed(let fd): return "socket \(fd) closed and deleted"
        case .arpRequestSent(let t, let n): return "ARP request #\(n): who has \(t)?"
        case .arpReplySent(let to, let mac): return "ARP reply to \(to): our address is at \(mac)"
        case .arpLearned(let a, let mac): return "ARP cache: \(a) is at \(mac)"
        case .arpQueued(let t, let n): return "ARP: datagram queued while \(t) resolves (\(n) waiting)"
        case .arpEvicted(let a, let n): return "ARP cache full: \(a) evicted, \(n) queued datagram(s) dropped"
        case .arpFailed(let t, let n): return "ARP: \(t) unreachable, \(n) queued datagram(s) dropped"
        case .ipFragmented(let id, let len, let n, let mtu):
            return "IP: datagram id \(id) of \(len) bytes split into \(n) fragments for MTU \(mtu)"
        case .ipReassembled(let id, let len, let n):
            return "IP: datagram id \(id) reassembled from \(n) fragments, \(len) bytes"
        case .ipReassemblyTimedOut(let id, let s): return "IP: reassembly of datagram id \(id) from \(s) timed out"
        case .ipReassemblyEvicted(let id, let s):
            return "IP: incomplete datagram id \(id) from \(s) evicted to make room"
        case .icmpErrorSent(let t, let c, let to): return "ICMP error type \(t) code \(c) sent to \(to)"
        case .icmpErrorDelivered(let fd, let e): return "ICMP error reported to socket \(fd) as \(e)"
        case .dropped(let r): return "dropped (\(r.layer.rawValue): \(r.name))"
        case .tcpStateChanged(let l, let r, let p, let from, let to): return "TCP :\(l)↔\(r):\(p) \(from) → \(to)"
        case .tcpConnectionClosed(let l, let r, let p): return "TCP :\(l)↔\(r):\(p) control block deleted"
        case .tcpListening(let fd, let p): return "TCP socket \(fd) listening on port \(p)"
        case .tcpAcceptQueued(let fd, let r, let p):
            return "TCP connection from \(r):\(p) queued for accept on socket \(fd)"
        case .tcpSynCookieSent(let l, let r, let p):
            return "TCP :\(l) SYN queue full: SYN cookie sent to \(r):\(p), no state kept"
        case .tcpSynCookieAccepted(let l, let r, let p):
            return "TCP :\(l) valid SYN cookie from \(r):\(p): connection made from it"
        case .tcpSynCookieRejected(let l, let r, let p):
            return "TCP :\(l) ACK from \(r):\(p) holds no valid SYN cookie: reset"
        case .tcpAccepted(let fd, let r, let p): return "TCP accept: connection from \(r):\(p) is descriptor \(fd)"
        case .tcpSegmentSent(let l, let seq, let ack, let f, let len, let w):
            return "TCP :\(l) sent \(f) seq \(seq) ack \(ack) len \(len) win \(w)"
        case .tcpRTTMeasured(let l, let rtt, let rto): return "TCP :\(l) RTT \(rtt / 1000) µs → RTO \(rto / 1000) µs"
        case .tcpRetransmitTimeout(let l, let seq, let rto):
            return "TCP :\(l) RTO fired, resend from \(seq), next RTO \(rto / 1_000_000) ms"
        case .tcpFastRetransmit(let l, let seq): return "TCP :\(l) three duplicate ACKs: fast retransmit of \(seq)"
        case .tcpWindowChanged(let l, let w): return "TCP :\(l) peer window now \(w) bytes"
        case .tcpWindowUpdate(let l, let w): return "TCP :\(l) window update: \(w) bytes free"
        }
    }
}
