import TCPIPCore

/// The layers a narration line can belong to, with their indentation.
enum DemoLayer: String {
    case app, socket, udp, icmp, tcp, ip, arp, link

    var depth: Int {
        switch self {
        case .app: return 0
        case .socket: return 1
        case .udp, .icmp, .tcp: return 2
        case .ip: return 3
        case .arp, .link: return 4
        }
    }
}

/// Turns trace events and frames into lines of narration. A class: the stacks' trace sinks and
/// the network's observers all write to it.
///
/// By default a frame gets one line, at its top layer (the handshake's SYNs also show their IP
/// and Ethernet headers), and a burst of TCP segments one host sends at one instant is
/// condensed to its first and last few, keeping every segment worth a look (lost, resent,
/// duplicate ACKs, window updates). `verbose` prints every header of every frame and every
/// arrival.
final class DemoNarrator {
    let names: [String]
    let addresses: [IPv4Address]
    let verbose: Bool
    /// The time stamped on the next lines.
    var now: Instant = .zero

    init(names: [String], addresses: [IPv4Address], verbose: Bool) {
        self.names = names
        self.addresses = addresses
        self.verbose = verbose
    }

    // MARK: - Output, and holding lines back for the next section

    /// When set, the first line it matches (by host and layer) and every line after it are held
    /// back until `releaseHeld`: a section ends there and the next one begins with them.
    var holdPredicate: ((Int, DemoLayer) -> Bool)?
    /// Drops every line while set.
    var muted = false
    /// True once `holdPredicate` matched.
    private(set) var holding = false
    private var held: [String] = []

    /// A line of narration for `host` at `layer`.
    func say(_ host: Int, _ layer: DemoLayer, _ text: String) {
        flush()
        emit(host, layer, text, at: now)
    }

    /// A line printed at once, past any hold: a remark that closes the section now ending.
    func remark(_ host: Int, _ layer: DemoLayer, _ text: String) {
        flush()
        print(format(host, layer, text, at: now))
    }

    /// Prints the lines held back, and stops holding.
    func releaseHeld() {
        flush()
        for line in held { print(line) }
        held.removeAll()
        holding = false
        holdPredicate = nil
    }

    private func emit(_ host: Int, _ layer: DemoLayer, _ text: String, at time: Instant) {
        guard !muted else { return }
        if !holding, let p = holdPredicate, p(host, layer) {
            holding = true
            holdPredicate = nil
        }
        let line = format(host, layer, text, at: time)
        if holding { held.append(line) } else { print(line) }
    }

    private func format(_ host: Int, _ layer: DemoLayer, _ text: String, at time: Instant) -> String {
        let indent = String(repeating: "  ", count: layer.depth)
        return "\(demoTime(time))  \(demoPad(names[host], 8)) \(indent)[\(layer.rawValue)] \(text)"
    }

    // MARK: - Trace events

    func trace(_ event: TraceEvent, host: Int) {
        switch event {
        case .socketCreated(let fd, let type):
            say(
                host,
                .socket,
                "socket created: descriptor \(fd), a \(type == .dgram ? "datagram (UDP)" : "stream (TCP)") socket"
            )
        case .socketBound(let fd, let address, let port):
            say(host, .socket, "descriptor \(fd) bound to \(address):\(port)")
        case .socketClosed(let fd):
            say(host, .socket, "descriptor \(fd) closed: the socket is deleted")
        case .arpQueued(let target, let n):
            say(host, .arp, "no MAC address known for \(target): the datagram waits in the ARP queue (\(n) waiting)")
        case .arpRequestSent(let target, let attempt):
            if verbose { say(host, .arp, "sending request #\(attempt) for \(target)") }
        case .arpReplySent(let to, let mac):
            if verbose { say(host, .arp, "the request is for our address: replying to \(to) that we are at \(mac)") }
        case .arpLearned(let address, let mac):
            say(host, .arp, "cache: \(address) is at \(mac)")
        case .ipFragmented(let id, let length, let n, let mtu):
            say(
                host,
                .ip,
                "datagram \(demoHex16(id)) is \(length) bytes, more than the MTU of \(mtu): split into \(n) fragments"
            )
        case .ipReassembled(let id, let length, let n):
            say(host, .ip, "all \(n) fragments of datagram \(demoHex16(id)) are in: reassembled \(length) bytes")
        case .dropped(let reason):
            say(host, DemoLayer(rawValue: reason.layer.rawValue) ?? .link, "dropped: \(reason.name)")
        case .tcpListening(let fd, let port):
            say(host, .tcp, "descriptor \(fd) listens on port \(port): a SYN to it will start a connection")
        case .tcpStateChanged(let l, let r, let p, let from, let to):
            let opening = from == .closed || from == .listen
            say(host, .tcp, "\(from) → \(to)" + (opening ? "   (connection \(addresses[host]):\(l) ↔ \(r):\(p))" : ""))
        case .tcpConnectionClosed(let l, let r, let p):
            say(host, .tcp, "control block of \(addresses[host]):\(l) ↔ \(r):\(p) deleted")
        case .tcpAcceptQueued(let listener, let r, let p):
            say(
                host,
                .tcp,
                "the connection from \(r):\(p) is complete: it waits in descriptor \(listener)'s accept queue"
            )
        case .tcpAccepted(let fd, let r, let p):
            say(host, .socket, "accept hands out the connection from \(r):\(p) as descriptor \(fd)")
        case .tcpSegmentSent:
            break  // the frame's own line says it, from the bytes on the wire
        case .tcpRTTMeasured(_, let rtt, let rto):
            // One per ACK: the story sums them up from the control block unless verbose.
            if verbose { say(host, .tcp, "round trip measured: \(demoDuration(rtt)) → RTO \(demoDuration(rto))") }
        case .tcpRetransmitTimeout(let l, let seq, let rto):
            say(
                host,
                .tcp,
                "retransmission timer expired: send again from seq \(relative(seq, of: host, port: l)), "
                    + "next RTO \(demoDuration(rto)) (doubled, RFC 6298 (5.5))"
            )
        case .tcpFastRetransmit(let l, let seq):
            say(
                host,
                .tcp,
                "third duplicate ACK: fast retransmit of seq \(relative(seq, of: host, port: l)), "
                    + "before the RTO (RFC 5681 §3.2)"
            )
        case .tcpWindowChanged(_, let w):
            if verbose { say(host, .tcp, "the peer's window is now \(w) bytes") }
        case .tcpWindowUpdate(_, let w):
            // The segment's own line says "window update" unless verbose.
            if verbose {
                say(host, .tcp, "reading freed buffer space: the window is \(w) bytes, worth telling the peer now")
            }
        default:
            say(host, Self.layer(of: event), event.description)
        }
    }

    /// The layer an event belongs to, from its case name (`tcpWindowChanged` → tcp).
    static func layer(of event: TraceEvent) -> DemoLayer {
        let name = Mirror(reflecting: event).children.first?.label ?? ""
        for layer in [DemoLayer.socket, .udp, .icmp, .tcp, .ip, .arp] where name.hasPrefix(layer.rawValue) {
            return layer
        }
        return .socket
    }

    // MARK: - Frames

    /// Narrates one frame put on the wire, from the top layer down.
    func frame(time: Instant, from host: Int, _ frame: UnsafeRawBufferPointer) {
        now = time
        guard case .success(let eth) = EthernetHeader.parse(frame) else {
            say(host, .link, "sends a frame too short for Ethernet (\(frame.count) bytes)")
            return
        }
        let body = UnsafeRawBufferPointer(rebasing: frame[EthernetHeader.size...])
        let ethText =
            "frame \(eth.source) → \(eth.destination)\(eth.destination.isBroadcast ? " (broadcast)" : ""), "
            + "type \(demoHex16(eth.etherType)) (\(etherTypeName(eth.etherType))), \(frame.count) bytes"
        var showLink = verbose
        switch eth.etherType {
        case EtherType.arp:
            if case .success(let arp) = ARPPacket.parse(body) {
                if arp.operation == ARPOperation.request {
                    let to = eth.destination.isBroadcast ? "to everyone (broadcast)" : "to \(eth.destination)"
                    say(host, .arp, "request \(to): who has \(arp.targetIP)? tell \(arp.senderIP)")
                } else {
                    say(host, .arp, "reply to \(arp.targetIP): \(arp.senderIP) is at \(arp.senderMAC)")
                }
            }
        case EtherType.ipv4:
            if case .success(let ip) = IPv4Header.parse(body) {
                let packet = UnsafeRawBufferPointer(rebasing: body[0..<ip.totalLength])
                showLink = ipFrame(ip, packet: packet, host: host) || verbose
            }
        default:
            break
        }
        if showLink { say(host, .link, ethText) }
    }

    /// Narrates a frame reaching a host (verbose only): the wire delivered it, the stack reads it.
    func arrival(time: Instant, at host: Int, _ frame: UnsafeRawBufferPointer) {
        lastArrival[host] = time
        guard verbose else { return }
        now = time
        guard case .success(let eth) = EthernetHeader.parse(frame) else { return }
        say(
            host,
            .link,
            "frame arrives from \(eth.source)\(eth.destination.isBroadcast ? " (broadcast)" : ""), "
                + "\(frame.count) bytes of \(etherTypeName(eth.etherType))"
        )
    }

    /// Narrates an IP packet; returns true when its Ethernet header deserves a line too.
    private func ipFrame(_ ip: IPv4Header, packet: UnsafeRawBufferPointer, host: Int) -> Bool {
        let transport = UnsafeRawBufferPointer(rebasing: packet[ip.headerLength...])
        let ipText =
            "\(ip.source) → \(ip.destination) \(protocolName(ip.protocol)) (\(ip.protocol)), id \(demoHex16(ip.identification)), "
            + "TTL \(ip.ttl), length \(ip.totalLength), checksum \(demoHex16(ip.checksum))"
        if ip.protocol == IPProtocol.tcp && !ip.isFragment {
            let full = tcpFrame(ip, transport, host: host)
            if full || verbose { say(host, .ip, ipText + ", DF=\(ip.dontFragment ? 1 : 0) MF=0") }
            return full
        }
        if !ip.isFragment {
            transportLine(ip, transport, host: host)
        } else if ip.fragmentOffset == 0 && transport.count >= 8 {
            // The first fragment carries the transport header; the rest carry only data.
            if ip.protocol == IPProtocol.udp {
                say(
                    host,
                    .udp,
                    "port \(transport.be16(0)) → \(transport.be16(2)), length \(transport.be16(4)), checksum "
                        + "\(demoHex16(transport.be16(6))) (the header travels in the first fragment)"
                )
            } else if ip.protocol == IPProtocol.icmp {
                say(host, .icmp, "type \(transport[0]) code \(transport[1]) (the header travels in the first fragment)")
            }
        }
        if ip.isFragment {
            let fragment =
                "fragment at offset \(ip.fragmentOffset), MF=\(ip.moreFragments ? "1 (more follow)" : "0 (the last)"): "
                + "\(ip.payloadLength) data bytes"
            if verbose {
                say(host, .ip, ipText)
                say(host, .ip, "  " + fragment)
            } else {
                say(host, .ip, "id \(demoHex16(ip.identification)), length \(ip.totalLength), \(fragment)")
            }
        } else {
            say(host, .ip, ipText + ", DF=\(ip.dontFragment ? 1 : 0) MF=0")
        }
        return false
    }

    private func transportLine(_ ip: IPv4Header, _ transport: UnsafeRawBufferPointer, host: Int) {
        switch ip.protocol {
        case IPProtocol.icmp:
            guard case .success(let icmp) = ICMPv4Header.parse(transport) else { return }
            switch icmp.type {
            case ICMPv4Type.echoRequest, ICMPv4Type.echoReply:
                say(
                    host,
                    .icmp,
                    "echo \(icmp.type == ICMPv4Type.echoRequest ? "request" : "reply"): id \(demoHex16(icmp.identifier)), "
                        + "seq \(icmp.sequenceNumber), checksum \(demoHex16(icmp.checksum)), \(icmp.payloadLength) data bytes"
                )
            default:
                say(host, .icmp, "type \(icmp.type) code \(icmp.code), checksum \(demoHex16(icmp.checksum))")
            }
        case IPProtocol.udp:
            guard case .success(let udp) = UDPHeader.parse(transport, source: ip.source, destination: ip.destination)
            else { return }
            let data = Array(transport[UDPHeader.size..<udp.length])
            say(
                host,
                .udp,
                "port \(udp.sourcePort) → \(udp.destinationPort), length \(udp.length), checksum \(demoHex16(udp.checksum)): "
                    + demoPreview(data)
            )
        default:
            break
        }
    }

    private func etherTypeName(_ t: UInt16) -> String {
        switch t {
        case EtherType.arp: return "ARP"
        case EtherType.ipv4: return "IPv4"
        default: return "unknown"
        }
    }

    private func protocolName(_ p: UInt8) -> String {
        switch p {
        case IPProtocol.icmp: return "ICMP"
        case IPProtocol.udp: return "UDP"
        case IPProtocol.tcp: return "TCP"
        default: return "unknown"
        }
    }

    // MARK: - TCP segments

    /// One end of a connection.
    private struct Endpoint: Hashable {
        var address: IPv4Address
        var port: UInt16
    }

    /// What the wire showed of one end: its ISN, the window shift it offered, how far it sent,
    /// the last ACK it sent.
    private struct EndpointView {
        var isn: UInt32 = 0
        var offeredShift: Int?
        var scaled = false
        var highestEnd = 0
        var lastAck: (ack: Int, window: Int)?
        var duplicates = 0
    }

    private var ends: [Endpoint: EndpointView] = [:]
    /// When a frame last reached each host: an ACK sent at another time was not caused by an
    /// arrival (a timer, or the application reading).
    private var lastArrival: [Instant?] = [nil, nil]
    /// The first SYN shows its IP and Ethernet headers too; the rest show TCP only.
    private var headersShown = false

    /// The last ACK number (relative) `host`'s `port` sent, as seen on the wire.
    func lastAck(from host: Int, port: UInt16) -> Int? {
        ends[Endpoint(address: addresses[host], port: port)]?.lastAck?.ack
    }

    /// Lose the `segment`-th data segment `host` sends (counting from 1), once.
    var lose: (host: Int, segment: Int)?
    /// Data segments (length > 0) each host has sent.
    private(set) var dataSegmentsSent = [0, 0]
    /// True when the frame just narrated is to be lost (see `takeLoss`).
    private var loseCurrent = false

    /// The wire asks whether to lose the frame just narrated.
    func takeLoss() -> Bool {
        defer { loseCurrent = false }
        return loseCurrent
    }

    /// A sequence number of `host`'s `port` relative to its ISN, as Wireshark shows it.
    func relative(_ seq: UInt32, of host: Int, port: UInt16) -> Int {
        guard let v = ends[Endpoint(address: addresses[host], port: port)] else { return Int(seq) }
        return Int(seq &- v.isn)
    }

    /// A segment line waiting to be printed as part of a burst.
    private struct Pending {
        var host: Int
        var time: Instant
        var isData: Bool
        var text: String
        var keep: Bool
        var seq: Int
        var end: Int
        var ack: Int
        var length: Int
        var window: Int
        /// Its number when it is a duplicate ACK, else 0.
        var duplicate: Int
        var sack: String
    }

    private var pending: [Pending] = []

    /// Narrates a TCP segment; returns true when its IP and Ethernet headers deserve lines.
    private func tcpFrame(_ ip: IPv4Header, _ segment: UnsafeRawBufferPointer, host: Int) -> Bool {
        guard case .success(let h) = TCPHeader.parse(segment, source: ip.source, destination: ip.destination) else {
            say(host, .tcp, "a TCP segment that does not parse (\(segment.count) bytes)")
            return true
        }
        let src = Endpoint(address: ip.source, port: h.sourcePort)
        let dst = Endpoint(address: ip.destination, port: h.destinationPort)
        let f = h.flags
        let o = h.options
        if f.contains(.syn) {
            var v = ends[src] ?? EndpointView()
            v.isn = h.sequenceNumber
            v.offeredShift = o.windowScale.map(Int.init)
            ends[src] = v
            // RFC 7323 §2.2: windows are scaled only when both SYNs carried the option.
            if f.contains(.ack), var d = ends[dst] {
                let both = v.offeredShift != nil && d.offeredShift != nil
                d.scaled = both
                v.scaled = both
                ends[dst] = d
                ends[src] = v
            }
        }
        var me = ends[src] ?? EndpointView()
        let peerISN = ends[dst]?.isn ?? 0
        let seq = Int(h.sequenceNumber &- me.isn)
        let ack = Int(h.acknowledgmentNumber &- peerISN)
        let length = h.payloadLength
        let shift = !f.contains(.syn) && me.scaled ? (me.offeredShift ?? 0) : 0
        let window = Int(h.window) << shift

        if f.contains(.syn) {
            var text = "\(f) port \(h.sourcePort) → \(h.destinationPort), seq \(h.sequenceNumber) (ISN)"
            if f.contains(.ack) { text += ", ack \(h.acknowledgmentNumber) (their ISN+1)" }
            text += ", win \(window)"
            say(host, .tcp, text)
            var options: [String] = []
            if let m = o.mss { options.append("MSS \(m)") }
            if let ws = o.windowScale { options.append("window scale \(ws) (×\(1 << Int(ws)))") }
            if o.sackPermitted { options.append("SACK permitted") }
            if let ts = o.timestamps { options.append("timestamps \(ts.value)/\(ts.echoReply)") }
            say(host, .tcp, "  options: " + (options.isEmpty ? "none" : options.joined(separator: ", ")))
            me.highestEnd = 1
            if f.contains(.ack) { me.lastAck = (ack, window) }
            ends[src] = me
            defer { headersShown = true }
            return !headersShown
        }

        var text = "\(f) "
        if length > 0 || f.contains(.fin) || f.contains(.rst) || verbose {
            text += length > 0 ? "seq \(seq):\(seq + length) (\(length) bytes), " : "seq \(seq), "
        }
        if f.contains(.ack) { text += "ack \(ack), " }
        text += "win \(window)"
        var sack = ""
        if !o.sackBlocks.isEmpty {
            let blocks = o.sackBlocks.map { "\(Int($0.left &- peerISN)):\(Int($0.right &- peerISN))" }
            sack = "SACK " + blocks.joined(separator: " ")
            text += ", " + sack
        }
        if verbose {
            text += ", ports \(h.sourcePort) → \(h.destinationPort)"
            if let ts = o.timestamps { text += ", TSval \(ts.value) TSecr \(ts.echoReply)" }
        }
        var keep = false
        let end = seq + length + (f.contains(.fin) ? 1 : 0)
        if end > seq && end <= me.highestEnd {
            text += "   ← sent again (retransmission)"
            keep = true
        }
        me.highestEnd = max(me.highestEnd, end)
        if length == 0 && !f.contains(.fin) && !f.contains(.rst) {
            if let last = me.lastAck, last.ack == ack, last.window == window {
                me.duplicates += 1
                text += "   ← duplicate ACK #\(me.duplicates)"
                keep = me.duplicates <= 3
            } else {
                if let last = me.lastAck, window > last.window {
                    text += last.ack == ack ? "   ← window update" : "   ← ACK and window update in one segment"
                    keep = true
                } else if let last = me.lastAck, ack > last.ack, lastArrival[host] != now {
                    text += "   ← delayed ACK: its timer fired"
                    keep = true
                }
                me.duplicates = 0
            }
        }
        if f.contains(.ack) { me.lastAck = (ack, window) }
        if !o.sackBlocks.isEmpty && me.duplicates == 0 { keep = true }
        ends[src] = me
        if length > 0 {
            dataSegmentsSent[host] += 1
            if let l = lose, l.host == host, l.segment == dataSegmentsSent[host] {
                lose = nil
                loseCurrent = true
                text += "   ✗ LOST on the wire"
                keep = true
            }
        }
        if f.contains(.syn) || f.contains(.fin) || f.contains(.rst) || verbose {
            say(host, .tcp, text)
        } else {
            if let p = pending.last, p.host != host || p.time != now || p.isData != (length > 0) { flush() }
            pending.append(
                Pending(
                    host: host,
                    time: now,
                    isData: length > 0,
                    text: text,
                    keep: keep,
                    seq: seq,
                    end: seq + length,
                    ack: ack,
                    length: length,
                    window: window,
                    duplicate: length == 0 ? me.duplicates : 0,
                    sack: sack
                )
            )
        }
        return false
    }

    /// Prints the burst of segments waiting: all of a short one; of a long one the first and
    /// every segment worth a look, with one line for each run left out.
    func flush() {
        guard !pending.isEmpty else { return }
        let burst = pending
        pending.removeAll()
        let shown = burst.indices.map { i in burst.count <= 3 || i == 0 || burst[i].keep }
        var i = 0
        while i < burst.count {
            if shown[i] {
                emit(burst[i].host, .tcp, burst[i].text, at: burst[i].time)
                i += 1
                continue
            }
            var j = i
            while j < burst.count && !shown[j] { j += 1 }
            let run = burst[i..<j]
            if run.count == 1 {
                emit(run.first!.host, .tcp, run.first!.text, at: run.first!.time)
            } else {
                emit(run.first!.host, .tcp, summary(of: run), at: run.first!.time)
            }
            i = j
        }
    }

    private func summary(of run: ArraySlice<Pending>) -> String {
        let first = run.first!
        let last = run.last!
        if first.isData {
            let sameSize = run.allSatisfy { $0.length == first.length }
            let sizes = sameSize ? "\(first.length) bytes each" : "\(run.reduce(0) { $0 + $1.length }) bytes"
            return "  … and \(run.count) more: seq \(first.seq):\(last.end), \(sizes)"
        }
        if run.allSatisfy({ $0.duplicate > 0 }) {
            return "  … and \(run.count) more duplicate ACKs, to #\(last.duplicate)"
                + (last.sack.isEmpty ? "" : ", the last with \(last.sack)")
        }
        let acks = run.map { "\($0.ack)" }
        let list = run.count <= 4 ? acks.joined(separator: ", ") : "\(acks.first!) … \(acks.last!)"
        return "  … and \(run.count) more ACKs: ack \(list), the last with win \(last.window)"
    }
}
