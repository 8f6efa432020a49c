import ArgumentParser
import Glibc
import TCPIPCore
import TCPIPDrivers

/// `tcpip demo`: two stacks on a simulated Ethernet, narrated layer by layer. Needs no root and
/// no setup: the wire, the clock and both hosts live in this process.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Watch two simulated hosts talk ARP, ICMP and UDP, layer by layer (no root needed).",
        discussion: """
            Two protocol stacks, "browser" (10.0.0.1) and "server" (10.0.0.2), share a simulated \
            Ethernet under a virtual clock. The demo makes the socket calls a program would make and \
            prints what each layer does and every header field of every frame on the wire. The frames \
            are also written to a pcap file for tcpdump or Wireshark. The same seed gives the same run.
            """
    )

    @Option(
        help: ArgumentHelp("Write the frames to this pcap file (default: $TMPDIR/tcpip-demo.pcap).", valueName: "file")
    )
    var pcap: String?

    @Option(help: "Seed for every random choice the stacks make (ports, IP identifications).")
    var seed: UInt64 = 1

    func run() throws {
        var demo = DemoScript(seed: seed, pcapPath: pcap ?? DemoScript.defaultPcapPath())
        demo.run()
    }
}

/// The demo's script: a list of sections, each one step of the story, played on one simulated
/// network. Add a section (a title, a few words of explanation and a closure) to extend it.
struct DemoScript {
    struct Section {
        var title: String
        var explanation: String
        var play: (inout DemoScript) -> Void
    }

    static let browser = 0
    static let server = 1
    static let names = ["browser", "server"]
    static let addresses = [IPv4Address(10, 0, 0, 1), IPv4Address(10, 0, 0, 2)]
    static let macs = [MACAddress(0x02, 0, 0, 0, 0, 0x01), MACAddress(0x02, 0, 0, 0, 0, 0x02)]
    static let mtu = 1500
    /// One-way delay of the simulated wire: a quarter of a millisecond.
    static let latency: Int64 = 250_000
    static let echoPort: UInt16 = 7

    var net: SimulatedNetwork
    let narrator: DemoNarrator
    let seed: UInt64
    let pcapPath: String
    var pcapWriter: PcapWriter?
    /// Socket events of each stack already narrated.
    var eventsNarrated = [0, 0]
    /// Descriptors the sections opened, by host.
    var serverSocket: Int32 = -1
    var browserSocket: Int32 = -1

    /// The sections, in order. A later chapter (TCP) appends its own.
    static var sections: [Section] {
        [
            Section(
                title: "Sockets",
                explanation: """
                    A program asks its stack for a socket and gets back a small integer, the descriptor. \
                    The server binds its socket to UDP port 7 (the echo service) so datagrams to that port \
                    reach it; the browser's socket stays unbound until it first sends.
                    """,
                play: { $0.sockets() }
            ),
            Section(
                title: "ARP and ping",
                explanation: """
                    The browser pings the server. IP knows the server's address, 10.0.0.2, but Ethernet \
                    needs its MAC address: the echo request waits in the ARP queue while the browser \
                    broadcasts "who has 10.0.0.2?". The server answers, and the queued datagram leaves.
                    """,
                play: { $0.ping() }
            ),
            Section(
                title: "A UDP exchange",
                explanation: """
                    The browser sends a datagram to port 7 without binding first, so its stack picks an \
                    ephemeral port. The server's socket becomes readable; the server reads the datagram \
                    and answers to the address and port it came from. No ARP this time: both hosts \
                    remember each other.
                    """,
                play: { $0.udpExchange() }
            ),
            Section(
                title: "Fragmentation",
                explanation: """
                    A 3000-byte datagram does not fit in one 1500-byte Ethernet frame. IP splits it into \
                    fragments that share one identification; each carries its offset and the MF (more \
                    fragments) flag. The receiver holds them until all have arrived and reassembles the \
                    datagram before UDP sees it.
                    """,
                play: { $0.fragmentation() }
            ),
            Section(
                title: "Closing",
                explanation: "Closing a socket frees its descriptor and its port.",
                play: { $0.closing() }
            ),
        ]
    }

    init(seed: UInt64, pcapPath: String) {
        self.seed = seed
        self.pcapPath = pcapPath
        let configurations = (0..<2).map { i in
            StackConfiguration(interfaces: [
                Interface(
                    name: "eth0",
                    mac: Self.macs[i],
                    mtu: Self.mtu,
                    network: IPv4Network(address: Self.addresses[i], prefixLength: 24)
                )
            ])
        }
        net = SimulatedNetwork(stacks: configurations, seed: seed, latency: Self.latency)
        narrator = DemoNarrator(names: Self.names)
        let narrator = self.narrator
        net.observer = { time, from, frame in narrator.frame(time: time, from: from, frame) }
        net.deliveryObserver = { time, to, frame in narrator.arrival(time: time, at: to, frame) }
        for i in 0..<2 {
            net.perform(on: i) { stack, _ in stack.traceSink = { narrator.trace($0, host: i) } }
        }
        do {
            pcapWriter = try PcapWriter(path: pcapPath)
            net.pcap = pcapWriter
        } catch {
            pcapWriter = nil
        }
    }

    /// `$TMPDIR/tcpip-demo.pcap`, or `/tmp/tcpip-demo.pcap`.
    static func defaultPcapPath() -> String {
        var dir = "/tmp"
        if let t = getenv("TMPDIR"), let s = String(validatingCString: t), !s.isEmpty { dir = s }
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        return dir + "/tcpip-demo.pcap"
    }

    mutating func run() {
        introduction()
        for (n, section) in Self.sections.enumerated() {
            print("")
            print("== \(n + 1). \(section.title) ==")
            for line in wrap(section.explanation, width: 92) { print("   \(line)") }
            print("")
            section.play(&self)
            // A pause between sections keeps their times apart.
            net.run(for: 1_000_000)
        }
        summary()
    }

    // MARK: - Sections

    mutating func sockets() {
        serverSocket = call(Self.server, "socket(AF_INET, SOCK_DGRAM, 0)") { s, _ in s.socket(.dgram) } ?? -1
        let fd = serverSocket
        _ = call(Self.server, "bind(\(fd), 0.0.0.0:\(Self.echoPort))") { s, _ in s.bind(fd, port: Self.echoPort) }
        browserSocket = call(Self.browser, "socket(AF_INET, SOCK_DGRAM, 0)") { s, _ in s.socket(.dgram) } ?? -1
    }

    mutating func ping() {
        let payload = (0..<56).map { UInt8(truncatingIfNeeded: 0x10 + $0) }
        _ = call(Self.browser, "ping 10.0.0.2: echo request, identifier 0x7463, sequence 1, 56 data bytes") { s, fx in
            payload.withUnsafeBytes {
                s.sendEchoRequest(
                    to: Self.addresses[Self.server],
                    identifier: 0x7463,
                    sequence: 1,
                    payload: $0,
                    into: &fx
                )
            }
        }
        play()
    }

    mutating func udpExchange() {
        let fd = browserSocket
        let request = Array("GET /hello".utf8)
        _ = call(Self.browser, "sendto(\(fd), \"GET /hello\", 10.0.0.2:\(Self.echoPort))") { s, fx in
            request.withUnsafeBytes {
                s.sendTo(fd, $0, address: Self.addresses[Self.server], port: Self.echoPort, into: &fx)
            }
        }
        play()
        guard let d = receive(Self.server, serverSocket) else { return }
        let answer = Array("hello, browser".utf8)
        let sfd = serverSocket
        _ = call(Self.server, "sendto(\(sfd), \"hello, browser\", \(d.address):\(d.port))") { s, fx in
            answer.withUnsafeBytes { s.sendTo(sfd, $0, address: d.address, port: d.port, into: &fx) }
        }
        play()
        _ = receive(Self.browser, browserSocket)
    }

    mutating func fragmentation() {
        let fd = browserSocket
        let big = (0..<3000).map { UInt8(truncatingIfNeeded: $0) }
        _ = call(Self.browser, "sendto(\(fd), <3000 bytes>, 10.0.0.2:\(Self.echoPort))") { s, fx in
            big.withUnsafeBytes {
                s.sendTo(fd, $0, address: Self.addresses[Self.server], port: Self.echoPort, into: &fx)
            }
        }
        play()
        guard let d = receive(Self.server, serverSocket) else { return }
        let sfd = serverSocket
        _ = call(Self.server, "sendto(\(sfd), <the same \(d.bytes.count) bytes>, \(d.address):\(d.port))") { s, fx in
            d.bytes.withUnsafeBytes { s.sendTo(sfd, $0, address: d.address, port: d.port, into: &fx) }
        }
        play()
        if let back = receive(Self.browser, browserSocket) {
            narrator.say(
                Self.browser,
                .app,
                back.bytes == big ? "the echo matches what was sent, byte for byte" : "the echo differs!"
            )
        }
    }

    mutating func closing() {
        for (host, fd) in [(Self.browser, browserSocket), (Self.server, serverSocket)] {
            _ = call(host, "close(\(fd))") { s, fx in s.close(fd, into: &fx) }
        }
    }

    // MARK: - Driving the network

    /// Makes a call on a host's stack at the current time, narrating it and what it caused.
    mutating func call<R, E>(_ host: Int, _ text: String, _ body: (inout Stack, inout Effects) -> Result<R, E>) -> R? {
        narrator.now = net.now
        narrator.say(host, .app, text)
        let result = net.perform(on: host, body)
        switch result {
        case .success(let r):
            if !(r is Void) { narrator.say(host, .app, "→ returned \(r)") }
            narrateEvents()
            return r
        case .failure(let e):
            narrator.say(host, .app, "→ failed: \(e)")
            narrateEvents()
            return nil
        }
    }

    /// `recvfrom` on a host, narrated.
    mutating func receive(_ host: Int, _ fd: Int32) -> ReceivedDatagram? {
        narrator.now = net.now
        narrator.say(host, .app, "recvfrom(\(fd))")
        switch net.perform(on: host, { s, _ in s.receiveFrom(fd, max: 65536) }) {
        case .success(let d):
            narrator.say(host, .app, "→ \(d.bytes.count) bytes from \(d.address):\(d.port): \(preview(d.bytes))")
            return d
        case .failure(let e):
            narrator.say(host, .app, "→ failed: \(e)")
            return nil
        }
    }

    /// Steps the network until every frame in flight has been delivered and handled.
    mutating func play(maxSteps: Int = 10_000) {
        var steps = 0
        while net.framesInFlight > 0, steps < maxSteps, let t = net.nextEvent {
            narrator.now = t
            net.step()
            narrateEvents()
            steps += 1
        }
    }

    /// Narrates the socket events the stacks reported since the last call.
    mutating func narrateEvents() {
        for host in 0..<2 {
            let log = net.eventLog[host]
            while eventsNarrated[host] < log.count {
                let e = log[eventsNarrated[host]]
                eventsNarrated[host] += 1
                narrator.now = e.time
                if case .changed(let fd) = e.event {
                    guard let r = net.stacks[host].readiness(fd) else { continue }
                    if r.contains(.readable) {
                        let queued = net.stacks[host].netstat().first { $0.fd == fd }?.receiveQueue ?? 0
                        narrator.say(host, .socket, "descriptor \(fd) is readable: \(queued) bytes wait to be read")
                    } else if r.contains(.error) {
                        narrator.say(host, .socket, "descriptor \(fd) has an error pending")
                    }
                } else if case .echoReply(let reply) = e.event {
                    narrator.say(
                        host,
                        .app,
                        "ping: \(reply.payloadLength) bytes from \(reply.source): icmp_seq=\(reply.sequence) "
                            + "ttl=\(reply.ttl) (data \(reply.payloadMatches ? "matches" : "DIFFERS"))"
                    )
                } else {
                    narrator.say(host, .socket, "\(e.event)")
                }
            }
        }
    }

    // MARK: - Beginning and end

    func introduction() {
        print("tcpip demo: two protocol stacks on one simulated Ethernet (seed \(seed))")
        print("")
        for i in 0..<2 {
            print("   \(pad(Self.names[i], 8)) \(Self.addresses[i])/24   MAC \(Self.macs[i])   MTU \(Self.mtu)")
        }
        print("")
        print("   The wire delivers each frame after \(Self.latency / 1000) µs. Times are virtual: the clock jumps")
        print("   from one event to the next. Each line: time, host, then the layer, indented downwards:")
        print("   [app] the program's calls, [socket], [udp]/[icmp], [ip], [arp]/[link] the frame on the wire.")
    }

    func summary() {
        print("")
        print("== Summary ==")
        print("")
        print(
            "   \(net.framesSent) frames on the wire, \(formatTime(net.now)) of virtual time, trace hash \(hex64(net.traceHash))."
        )
        print("   Counters (like netstat -s), zeros left out:")
        for host in 0..<2 {
            let c = net.stacks[host].counters
            for layer in Layer.allCases {
                let counts = c.counters(of: layer).filter { $0.1 > 0 }.map { "\($0.0)=\($0.1)" }
                let drops = c.drops(of: layer).filter { $0.1 > 0 }.map { "dropped \($0.0)=\($0.1)" }
                let all = counts + drops
                guard !all.isEmpty else { continue }
                for (n, line) in wrap(all.joined(separator: " "), width: 90).enumerated() {
                    let label = n == 0 ? "\(pad(Self.names[host], 8)) \(pad(layer.rawValue, 5))" : pad("", 14)
                    print("     \(label) \(line)")
                }
            }
        }
        print("")
        if let w = pcapWriter {
            do {
                try w.close()
                print("   Wrote \(w.frameCount) frames to \(pcapPath)")
                print("   Read it with: tcpdump -nn -e -v -r \(pcapPath)   (or open it in Wireshark)")
            } catch {
                print("   Could not write \(pcapPath): \(error)")
            }
        } else {
            print("   Could not create \(pcapPath); no capture written.")
        }
    }
}

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
/// the network's observer all write to it.
final class DemoNarrator {
    let names: [String]
    /// The time stamped on the next lines.
    var now: Instant = .zero

    init(names: [String]) { self.names = names }

    func say(_ host: Int, _ layer: DemoLayer, _ text: String) {
        let indent = String(repeating: "  ", count: layer.depth)
        print("\(formatTime(now))  \(pad(names[host], 8)) \(indent)[\(layer.rawValue)] \(text)")
    }

    // MARK: Trace events

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
            say(host, .socket, "descriptor \(fd) closed: the socket is deleted and its port freed")
        case .arpQueued(let target, let n):
            say(host, .arp, "no MAC address known for \(target): the datagram waits in the ARP queue (\(n) waiting)")
        case .arpRequestSent(let target, let attempt):
            say(host, .arp, "sending request #\(attempt) for \(target)")
        case .arpReplySent(let to, let mac):
            say(host, .arp, "the request is for our address: replying to \(to) that we are at \(mac)")
        case .arpLearned(let address, let mac):
            say(host, .arp, "cache: \(address) is at \(mac)")
        case .ipFragmented(let id, let length, let n, let mtu):
            say(
                host,
                .ip,
                "datagram \(hex16(id)) is \(length) bytes, more than the MTU of \(mtu): split into \(n) fragments"
            )
        case .ipReassembled(let id, let length, let n):
            say(host, .ip, "all \(n) fragments of datagram \(hex16(id)) are in: reassembled \(length) bytes")
        case .dropped(let reason):
            say(host, DemoLayer(rawValue: reason.layer.rawValue) ?? .link, "dropped: \(reason.name)")
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

    // MARK: Frames

    /// Narrates one frame put on the wire, header by header, from the top layer down.
    func frame(time: Instant, from host: Int, _ frame: UnsafeRawBufferPointer) {
        now = time
        guard case .success(let eth) = EthernetHeader.parse(frame) else {
            say(host, .link, "sends a frame too short for Ethernet (\(frame.count) bytes)")
            return
        }
        let body = UnsafeRawBufferPointer(rebasing: frame[EthernetHeader.size...])
        let ethText =
            "sends frame \(eth.source) → \(eth.destination)\(eth.destination.isBroadcast ? " (broadcast)" : ""), "
            + "type \(hex16(eth.etherType)) (\(etherTypeName(eth.etherType))), \(frame.count) bytes"
        switch eth.etherType {
        case EtherType.arp:
            if case .success(let arp) = ARPPacket.parse(body) {
                if arp.operation == ARPOperation.request {
                    say(host, .arp, "request: who has \(arp.targetIP)? tell \(arp.senderIP) (at \(arp.senderMAC))")
                } else {
                    say(
                        host,
                        .arp,
                        "reply: \(arp.senderIP) is at \(arp.senderMAC) (to \(arp.targetIP) at \(arp.targetMAC))"
                    )
                }
            }
        case EtherType.ipv4:
            if case .success(let ip) = IPv4Header.parse(body) {
                ipFrame(ip, packet: UnsafeRawBufferPointer(rebasing: body[0..<ip.totalLength]), host: host)
            }
        default:
            break
        }
        say(host, .link, ethText)
    }

    /// Narrates a frame reaching a host, in one line: the wire delivered it, the stack reads it.
    func arrival(time: Instant, at host: Int, _ frame: UnsafeRawBufferPointer) {
        now = time
        guard case .success(let eth) = EthernetHeader.parse(frame) else { return }
        say(
            host,
            .link,
            "frame arrives from \(eth.source)\(eth.destination.isBroadcast ? " (broadcast)" : ""), "
                + "\(frame.count) bytes of \(etherTypeName(eth.etherType))"
        )
    }

    private func ipFrame(_ ip: IPv4Header, packet: UnsafeRawBufferPointer, host: Int) {
        let transport = UnsafeRawBufferPointer(rebasing: packet[ip.headerLength...])
        if !ip.isFragment {
            transportLine(ip, transport, host: host)
        } else if ip.fragmentOffset == 0 && transport.count >= 8 {
            // The first fragment carries the transport header; the rest carry only data.
            if ip.protocol == IPProtocol.udp {
                say(
                    host,
                    .udp,
                    "port \(transport.be16(0)) → \(transport.be16(2)), length \(transport.be16(4)), checksum "
                        + "\(hex16(transport.be16(6))) (the header travels in the first fragment)"
                )
            } else if ip.protocol == IPProtocol.icmp {
                say(host, .icmp, "type \(transport[0]) code \(transport[1]) (the header travels in the first fragment)")
            }
        }
        let text =
            "\(ip.source) → \(ip.destination) \(protocolName(ip.protocol)) (\(ip.protocol)), id \(hex16(ip.identification)), "
            + "TTL \(ip.ttl), length \(ip.totalLength), checksum \(hex16(ip.checksum))"
        if ip.isFragment {
            say(host, .ip, text)
            say(
                host,
                .ip,
                "  fragment at offset \(ip.fragmentOffset), MF=\(ip.moreFragments ? "1 (more follow)" : "0 (the last)"): "
                    + "\(ip.payloadLength) data bytes"
            )
        } else {
            say(host, .ip, text + ", DF=\(ip.dontFragment ? 1 : 0) MF=0")
        }
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
                    "echo \(icmp.type == ICMPv4Type.echoRequest ? "request" : "reply"): id \(hex16(icmp.identifier)), "
                        + "seq \(icmp.sequenceNumber), checksum \(hex16(icmp.checksum)), \(icmp.payloadLength) data bytes"
                )
            default:
                say(host, .icmp, "type \(icmp.type) code \(icmp.code), checksum \(hex16(icmp.checksum))")
            }
        case IPProtocol.udp:
            guard case .success(let udp) = UDPHeader.parse(transport, source: ip.source, destination: ip.destination)
            else { return }
            let data = Array(transport[UDPHeader.size..<udp.length])
            say(
                host,
                .udp,
                "port \(udp.sourcePort) → \(udp.destinationPort), length \(udp.length), checksum \(hex16(udp.checksum)): "
                    + preview(data)
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
}

// MARK: - Formatting

/// Virtual time as seconds with microseconds: `0.000250s`.
private func formatTime(_ t: Instant) -> String {
    let us = t.nanoseconds / 1000
    let frac = String(us % 1_000_000)
    return "\(us / 1_000_000).\(String(repeating: "0", count: 6 - frac.count))\(frac)s"
}

private func hex16(_ v: UInt16) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 4 - s.count) + s
}

private func hex64(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - s.count) + s
}

private func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

/// Data as quoted text when it is printable, else its size.
private func preview(_ bytes: [UInt8]) -> String {
    if !bytes.isEmpty && bytes.count <= 64 && bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
        return "\"\(String(decoding: bytes, as: UTF8.self))\""
    }
    return "\(bytes.count) bytes of data"
}

/// Splits text into lines of at most `width` characters at spaces.
private func wrap(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var line = ""
    for word in text.split(separator: " ") {
        if !line.isEmpty && line.count + 1 + word.count > width {
            lines.append(line)
            line = ""
        }
        line += line.isEmpty ? String(word) : " " + word
    }
    if !line.isEmpty { lines.append(line) }
    return lines
}
