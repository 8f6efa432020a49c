import ArgumentParser
import Glibc
import TCPIPCore
import TCPIPDrivers

/// `tcpip demo`: two stacks on a simulated Ethernet, narrated layer by layer. Needs no root and
/// no setup: the wire, the clock and both hosts live in this process.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Watch a browser fetch a page over TCP from a simulated server, layer by layer (no root needed).",
        discussion: """
            Two protocol stacks, "browser" (10.0.0.1) and "server" (10.0.0.2), share a simulated \
            Ethernet under a virtual clock. The browser fetches a page over TCP: sockets, ARP, the \
            three-way handshake, segments, acknowledgments, round-trip time, windows, a lost segment \
            and its retransmission, and the closing handshake with TIME-WAIT. Then ping, UDP and IP \
            fragmentation. The demo makes the socket calls a program would make and prints what each \
            layer does, with the numbers read from the frames on the wire and from the stacks. The \
            frames are also written to a pcap file for tcpdump or Wireshark. The same seed gives the \
            same run.
            """
    )

    @Option(
        help: ArgumentHelp("Write the frames to this pcap file (default: $TMPDIR/tcpip-demo.pcap).", valueName: "file")
    )
    var pcap: String?

    @Option(help: "Seed for every random choice the stacks make (ISNs, ports, IP identifications).")
    var seed: UInt64 = 1

    @Flag(help: "Show every segment and every header of every frame, and every arrival.")
    var verbose = false

    func run() throws {
        var demo = DemoScript(seed: seed, pcapPath: pcap ?? DemoScript.defaultPcapPath(), verbose: verbose)
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
        /// Virtual time left to pass after the section (0: the next one goes on at once).
        var pause: Int64 = 1_000_000
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
    let verbose: Bool
    var pcapWriter: PcapWriter?
    /// Socket events of each stack already narrated.
    var eventsNarrated = [0, 0]
    /// Datagram descriptors the UDP sections opened, by host.
    var serverSocket: Int32 = -1
    var browserSocket: Int32 = -1
    /// The TCP story's state (see DemoTCPStory.swift).
    var web = DemoWebState()

    /// The sections, in order: the TCP story, then ping, UDP and fragmentation.
    static var sections: [Section] { tcpSections + datagramSections }

    static var datagramSections: [Section] {
        [
            Section(
                title: "Ping",
                explanation: """
                    ICMP echo: the server's stack answers by itself. The ARP entries are now over 60 s old: each \
                    host uses its entry once more and checks it with a unicast request (RFC 1122 §2.3.2.1).
                    """,
                play: { $0.ping() }
            ),
            Section(
                title: "UDP and IP fragmentation",
                explanation: """
                    UDP sends lone datagrams: no connection, no ACK, no retransmission. 3000 bytes from an unbound \
                    socket (its stack picks a port) do not fit a 1500-byte frame: IP sends fragments sharing one id, \
                    each with an offset and MF flag; the receiver reassembles them.
                    """,
                play: { $0.udpExchange() }
            ),
        ]
    }

    init(seed: UInt64, pcapPath: String, verbose: Bool) {
        self.seed = seed
        self.pcapPath = pcapPath
        self.verbose = verbose
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
        narrator = DemoNarrator(names: Self.names, addresses: Self.addresses, verbose: verbose)
        let narrator = self.narrator
        net.observer = { time, from, frame in narrator.frame(time: time, from: from, frame) }
        net.deliveryObserver = { time, to, frame in narrator.arrival(time: time, at: to, frame) }
        // The one deliberate fault: the narrator marks the frame the TCP story chose to lose.
        net.lossFilter = { _, _, _ in narrator.takeLoss() }
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
            for line in demoWrap(section.explanation, width: 92) { print("   \(line)") }
            // Lines the previous section's last step produced that belong to this one.
            narrator.releaseHeld()
            section.play(&self)
            narrator.flush()
            // A pause between sections keeps their times apart.
            if section.pause > 0 { advance(by: section.pause) }
        }
        narrator.releaseHeld()
        summary()
    }

    // MARK: - Datagram sections

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
        serverSocket =
            callQuietly(Self.server, "socket(AF_INET, SOCK_DGRAM, 0)") { s, _ in s.socket(.dgram) } ?? -1
        let sfd = serverSocket
        call(Self.server, "bind(\(sfd), 0.0.0.0:\(Self.echoPort))") { s, _ in s.bind(sfd, port: Self.echoPort) }
        browserSocket =
            callQuietly(Self.browser, "socket(AF_INET, SOCK_DGRAM, 0)") { s, _ in
                s.socket(.dgram)
            } ?? -1
        let fd = browserSocket
        let big = (0..<3000).map { UInt8(truncatingIfNeeded: $0) }
        call(Self.browser, "sendto(\(fd), <3000 bytes>, 10.0.0.2:\(Self.echoPort))", result: quietResult) { s, fx in
            big.withUnsafeBytes {
                s.sendTo(fd, $0, address: Self.addresses[Self.server], port: Self.echoPort, into: &fx)
            }
        }
        play()
        guard let d = receive(Self.server, serverSocket) else { return }
        let answer = Array("got \(d.bytes.count) bytes, \(d.bytes == big ? "all as sent" : "NOT as sent")".utf8)
        call(Self.server, "sendto(\(sfd), \(demoPreview(answer)), \(d.address):\(d.port))", result: quietResult) {
            s,
            fx in
            answer.withUnsafeBytes { s.sendTo(sfd, $0, address: d.address, port: d.port, into: &fx) }
        }
        play()
        _ = receive(Self.browser, browserSocket)
        // Closing was shown with TCP; the datagram sockets close quietly unless verbose.
        for (host, fd) in [(Self.browser, browserSocket), (Self.server, serverSocket)] {
            if verbose {
                call(host, "close(\(fd))") { s, fx in s.close(fd, into: &fx) }
            } else {
                narrator.muted = true
                _ = net.perform(on: host) { s, fx in s.close(fd, into: &fx) }
                narrator.muted = false
            }
        }
    }

    // MARK: - Driving the network

    /// Words a call's result only when verbose.
    var quietResult: (Int) -> String? {
        let verbose = verbose
        return { verbose ? "returned \($0)" : nil }
    }

    /// Makes a call on a host's stack at the current time, narrating it and what it caused;
    /// `result` words the result (nil: no line), else it is printed unless it is Void.
    /// `call` without printing the result value.
    @discardableResult
    mutating func callQuietly<R, E>(
        _ host: Int,
        _ text: String,
        _ body: (inout Stack, inout Effects) -> Result<R, E>
    ) -> R? {
        call(host, text, result: { _ in nil }, body)
    }

    @discardableResult
    mutating func call<R, E>(
        _ host: Int,
        _ text: String,
        result: ((R) -> String?)? = nil,
        _ body: (inout Stack, inout Effects) -> Result<R, E>
    ) -> R? {
        narrator.now = net.now
        narrator.say(host, .app, text)
        let outcome = net.perform(on: host, body)
        switch outcome {
        case .success(let r):
            if let result {
                if let line = result(r) { narrator.say(host, .app, "→ " + line) }
            } else if !(r is Void) {
                narrator.say(host, .app, "→ returned \(r)")
            }
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
            narrator.say(host, .app, "→ \(d.bytes.count) bytes from \(d.address):\(d.port): \(demoPreview(d.bytes))")
            return d
        case .failure(let e):
            narrator.say(host, .app, "→ failed: \(e)")
            return nil
        }
    }

    /// Handles the next event (a delivery or a timer); false when nothing is left to happen.
    @discardableResult
    mutating func step() -> Bool {
        guard let t = net.nextEvent else { return false }
        narrator.now = t
        net.step()
        narrateEvents()
        narrator.flush()
        return true
    }

    /// Steps the network until every frame in flight has been delivered and handled.
    mutating func play(maxSteps: Int = 10_000) {
        var steps = 0
        while net.framesInFlight > 0, steps < maxSteps, step() { steps += 1 }
    }

    /// Steps until the narrator starts holding lines back for the next section (the step that
    /// made it hold is completed), or until nothing is in flight.
    mutating func playUntilHeld(maxSteps: Int = 10_000) {
        var steps = 0
        while !narrator.holding, net.framesInFlight > 0, steps < maxSteps, step() { steps += 1 }
    }

    /// Lets `nanoseconds` of virtual time pass, handling (and narrating) every event in it.
    mutating func advance(by nanoseconds: Int64) {
        let deadline = net.now.adding(nanoseconds: nanoseconds)
        while let t = net.nextEvent, t <= deadline { step() }
        net.run(until: deadline)
        narrator.now = net.now
    }

    /// Narrates the socket events the stacks reported since the last call (readiness changes
    /// only when verbose: a stream socket's changes with every segment).
    mutating func narrateEvents() {
        for host in 0..<2 {
            let log = net.eventLog[host]
            // A socket's readiness is read now, so one line per socket says it all.
            var told: Set<Int32> = []
            while eventsNarrated[host] < log.count {
                let e = log[eventsNarrated[host]]
                eventsNarrated[host] += 1
                narrator.now = e.time
                if let fd = e.event.descriptor {
                    // The calls that follow say what the socket had to give, unless verbose.
                    guard verbose, told.insert(fd).inserted, let r = net.stacks[host].readiness(fd) else { continue }
                    if r.contains(.readable) {
                        let queued = net.stacks[host].netstat().first { $0.fd == fd }?.receiveQueue ?? 0
                        let listening = net.stacks[host].netstat().first { $0.fd == fd }?.state == "LISTEN"
                        narrator.say(
                            host,
                            .socket,
                            "descriptor \(fd) is readable: "
                                + (listening ? "\(queued) connection(s) to accept" : "\(queued) bytes wait to be read")
                        )
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
        print(
            "tcpip demo: a browser fetches a page from a server, two protocol stacks on one simulated wire (seed \(seed))"
        )
        print("")
        for i in 0..<2 {
            print("   \(demoPad(Self.names[i], 8)) \(Self.addresses[i])/24   MAC \(Self.macs[i])   MTU \(Self.mtu)")
        }
        print("")
        for line in demoWrap(
            """
            Layers, top down: a program [app] calls its stack through [socket]s; [tcp] cuts what is \
            written into segments and sees them arrive, in order; [ip] carries them to an address; [arp] \
            finds the Ethernet address for it; [link] frames cross the wire in \(Self.latency / 1000) µs (virtual \
            time). TCP flags as in tcpdump: [S] SYN, [S.] SYN+ACK, [.] ACK, [P.] PSH+ACK, [F.] FIN.
            """,
            width: 92
        ) { print("   \(line)") }
    }

    func summary() {
        print("")
        print("== Summary ==")
        print(
            "   \(net.framesSent) frames on the wire (\(net.framesLostByFilter) lost on purpose), "
                + "\(demoTime(net.now)) of virtual time, trace hash \(demoHex64(net.traceHash))."
        )
        print(
            "   Counters (as netstat -s), zeros left out\(verbose ? "" : ", TCP only (--verbose: all, and every segment)"):"
        )
        for host in 0..<2 {
            let c = net.stacks[host].counters
            for layer in Layer.allCases where verbose || layer.rawValue == "tcp" {
                let counts = c.counters(of: layer).filter { $0.1 > 0 }.map { "\($0.0)=\($0.1)" }
                let drops = c.drops(of: layer).filter { $0.1 > 0 }.map { "dropped \($0.0)=\($0.1)" }
                let all = counts + drops
                guard !all.isEmpty else { continue }
                for (n, line) in demoWrap(all.joined(separator: " "), width: 90).enumerated() {
                    let label =
                        n == 0 ? "\(demoPad(Self.names[host], 8)) \(demoPad(layer.rawValue, 5))" : demoPad("", 14)
                    print("     \(label) \(line)")
                }
            }
        }
        if let w = pcapWriter {
            do {
                try w.close()
                print(
                    "   The capture: \(w.frameCount) frames in \(pcapPath), the lost one included (it left the server)."
                )
                print("   Read it with tcpdump -nn -r \(pcapPath), or in Wireshark (Statistics → Flow Graph).")
            } catch {
                print("   Could not write \(pcapPath): \(error)")
            }
        } else {
            print("   Could not create \(pcapPath); no capture written.")
        }
    }
}
