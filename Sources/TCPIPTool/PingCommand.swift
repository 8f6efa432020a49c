import ArgumentParser
import Foundation
import TCPIP
import TCPIPCore
import TCPIPDrivers

/// `tcpip ping`: the stack sends ICMP echo requests (RFC 792) from a TAP interface and prints
/// what comes back, in the words and format of iputils `ping`.
struct PingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Send ICMP echo requests from the stack and report the replies, like ping(8).",
        discussion: "Exits 0 when at least one reply arrived, 1 otherwise. SIGINT ends it early with statistics."
    )

    @OptionGroup var interface: InterfaceOptions

    @Argument(help: ArgumentHelp("The address to ping.", valueName: "host"))
    var destination: String?

    @Option(
        name: .customShort("c"),
        help: ArgumentHelp("Stop after this many requests (default: until SIGINT).", valueName: "count")
    )
    var count: String?

    @Option(name: .customShort("s"), help: ArgumentHelp("Payload bytes per request (default 56).", valueName: "size"))
    var size: String?

    @Option(name: .customShort("i"), help: ArgumentHelp("Seconds between requests (default 1).", valueName: "interval"))
    var interval: String?

    @Option(
        name: .customShort("W"),
        help: ArgumentHelp("Seconds to wait for replies after the last request (default 10).", valueName: "timeout")
    )
    var timeout: String?

    @OptionGroup(title: "Fault injection") var faults: FaultOptions

    func run() throws {
        TerminationSignals.block()
        try reportingFailures(ping)
    }

    func ping() throws(ToolFailure) -> Int32 {
        guard let destination else { throw ToolFailure("ping: missing HOST: the address to ping") }
        guard let target = IPv4Address(destination) else {
            throw ToolFailure("ping: invalid host '\(destination)': expected A.B.C.D")
        }
        let count: Int? = try self.count.map { (s) throws(ToolFailure) in try Parse.integer(s, "-c", in: 1...Int.max) }
        let size = try self.size.map { (s) throws(ToolFailure) in try Parse.integer(s, "-s", in: 0...65507) } ?? 56
        let interval = Int64(
            (try self.interval.map { (s) throws(ToolFailure) in try Parse.seconds(s, "-i") } ?? 1) * 1e9
        )
        let linger = Int64((try timeout.map { (s) throws(ToolFailure) in try Parse.seconds(s, "-W") } ?? 10) * 1e9)

        let (host, iface) = try interface.makeHost(faults: faults)
        let identifier = UInt16(truncatingIfNeeded: SystemEntropy.seed())
        let session = PingSession(target: target, source: iface.address)
        host.observe { event in session.handle(event, identifier: identifier) }
        do {
            try host.start()
        } catch {
            throw ToolFailure("\(error.message) (\(error.name))")
        }

        Output.out("PING \(target) (\(target)) \(size)(\(size + 28)) bytes of data.")
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
        let start = MonotonicClock.now()
        var interrupted = false
        var sequence: UInt16 = 0
        var sent = 0
        while count == nil || sent < count! {
            sequence &+= 1
            let seq = sequence
            let result = host.perform { stack, effects in
                session.sending(seq, at: MonotonicClock.now())
                return payload.withUnsafeBytes {
                    stack.sendEchoRequest(
                        to: target,
                        identifier: identifier,
                        sequence: seq,
                        payload: $0,
                        into: &effects
                    )
                }
            }
            sent += 1
            if case .failure(let e) = result {
                session.failed(seq, error: e)
            }
            if let count, sent >= count { break }
            if waitForSignal(until: MonotonicClock.now().adding(nanoseconds: interval), done: { false }) {
                interrupted = true
                break
            }
        }
        if !interrupted {
            // Wait for the replies still due, at most -W seconds after the last request.
            _ = waitForSignal(until: MonotonicClock.now().adding(nanoseconds: linger), done: { session.isComplete })
        }
        let elapsed = MonotonicClock.now().nanoseconds(since: start)
        host.stop()
        return session.summary(elapsed: elapsed)
    }

    /// Waits until `deadline` or `done()`, checking every 10 ms; true when SIGINT or SIGTERM
    /// came.
    func waitForSignal(until deadline: Instant, done: () -> Bool) -> Bool {
        while !done() {
            let left = deadline.nanoseconds(since: MonotonicClock.now())
            if left <= 0 { return false }
            if TerminationSignals.wait(nanoseconds: min(left, 10_000_000)) != nil { return true }
        }
        return false
    }
}

/// What a ping run has sent and received, shared by the main thread (sending) and the host's
/// owner thread (replies).
final class PingSession: Sendable {
    struct State {
        var sentAt: [UInt16: Instant] = [:]
        var transmitted = 0
        var received = 0
        var errors = 0
        var rtts: [Double] = []
    }

    let target: IPv4Address
    let source: IPv4Address
    let state = Locked(State())

    init(target: IPv4Address, source: IPv4Address) {
        self.target = target
        self.source = source
    }

    /// Records a request about to be sent (owner thread, just before it is built).
    func sending(_ sequence: UInt16, at time: Instant) {
        state.withLock {
            $0.sentAt[sequence] = time
            $0.transmitted += 1
        }
    }

    /// A request the stack refused to send.
    func failed(_ sequence: UInt16, error: Errno) {
        state.withLock {
            $0.sentAt[sequence] = nil
            $0.errors += 1
        }
        Output.out("From \(source) icmp_seq=\(sequence) \(Self.describe(error))")
    }

    /// True when every request has been answered (by a reply or an error).
    var isComplete: Bool { state.withLock { $0.sentAt.isEmpty } }

    /// Handles a reply or failure (owner thread).
    func handle(_ event: SocketEvent, identifier: UInt16) {
        let now = MonotonicClock.now()
        switch event {
        case .echoReply(let r) where r.identifier == identifier:
            let rtt: Double? = state.withLock { s in
                guard let sent = s.sentAt.removeValue(forKey: r.sequence) else { return nil }
                let ms = Double(now.nanoseconds(since: sent)) / 1e6
                s.received += 1
                s.rtts.append(ms)
                return ms
            }
            guard let rtt else { return }
            let note = r.payloadMatches ? "" : " (wrong data)"
            Output.out(
                "\(r.payloadLength + 8) bytes from \(r.source): icmp_seq=\(r.sequence) ttl=\(r.ttl) time=\(Self.format(rtt)) ms\(note)"
            )
        case .echoFailed(let id, let sequence, let error) where id == identifier:
            let known = state.withLock { s in
                guard s.sentAt.removeValue(forKey: sequence) != nil else { return false }
                s.errors += 1
                return true
            }
            if known { Output.out("From \(source) icmp_seq=\(sequence) \(Self.describe(error))") }
        default:
            break
        }
    }

    /// Prints the statistics; returns the exit status (0 when any reply came).
    func summary(elapsed: Int64) -> Int32 {
        let s = state.withLock { $0 }
        let loss = s.transmitted == 0 ? 0 : (s.transmitted - s.received) * 100 / s.transmitted
        let errors = s.errors > 0 ? ", +\(s.errors) errors" : ""
        Output.out("")
        Output.out("--- \(target) ping statistics ---")
        Output.out(
            "\(s.transmitted) packets transmitted, \(s.received) received\(errors), \(loss)% packet loss, time \(elapsed / 1_000_000)ms"
        )
        if !s.rtts.isEmpty {
            let n = Double(s.rtts.count)
            let avg = s.rtts.reduce(0, +) / n
            let mdev = (max(0, s.rtts.reduce(0) { $0 + $1 * $1 } / n - avg * avg)).squareRoot()
            let values = [s.rtts.min()!, avg, s.rtts.max()!, mdev].map { String(format: "%.3f", $0) }
            Output.out("rtt min/avg/max/mdev = \(values.joined(separator: "/")) ms")
        }
        return s.received > 0 ? 0 : 1
    }

    /// A round-trip time as iputils prints it: 3 decimals under 1 ms, 2 under 10, 1 under 100.
    static func format(_ ms: Double) -> String {
        switch ms {
        case ..<1: String(format: "%.3f", ms)
        case ..<10: String(format: "%.2f", ms)
        case ..<100: String(format: "%.1f", ms)
        default: String(format: "%.0f", ms)
        }
    }

    /// The words ping(8) uses for an ICMP error.
    static func describe(_ error: Errno) -> String {
        switch error {
        case .EHOSTUNREACH: error.message == Errno.EHOSTUNREACH.message ? "Destination Host Unreachable" : error.message
        case .ENETUNREACH: "Destination Net Unreachable"
        case .ECONNREFUSED: "Destination Port Unreachable"
        default: "\(error.message) (\(error.name))"
        }
    }
}
