import ArgumentParser
import Foundation
import TCPIPCore
import TCPIPDrivers

/// `tcpip bench`: a bulk TCP transfer between two stacks joined in memory, as fast as the CPU
/// allows. Frames go from one stack straight into the other (no copies beyond the stacks'
/// own, no wire delays), time is virtual and advances only when both stacks are idle, so the
/// figure is the stacks' own per-segment cost.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Bulk TCP transfer between two stacks in memory: Gbit/s and CPU seconds."
    )

    @Option(name: .long, help: "Bytes to transfer (suffixes K, M, G).")
    var size: String = "1G"

    @Option(name: .long, parsing: .upToNextOption, help: "MTUs to measure, one run each.")
    var mtu: [Int] = [1500, 65535]

    @Option(name: .long, help: "Bytes per application write.")
    var writeSize: Int = 65536

    @Option(name: .long, help: "Socket buffer size (SO_SNDBUF and SO_RCVBUF), bytes.")
    var buffer: Int = 4 << 20

    @Option(name: .long, help: "Seed of both stacks.")
    var seed: UInt64 = 1

    func run() throws {
        guard let bytes = Self.parseSize(size), bytes > 0 else {
            FileHandle.standardError.write(Data("tcpip: bench: bad --size \(size)\n".utf8))
            throw ExitCode(2)
        }
        print("tcpip bench: \(bytes) bytes, \(writeSize)-byte writes, \(buffer)-byte buffers, two stacks in memory")
        for m in mtu {
            let r = try Self.transfer(bytes: bytes, mtu: m, writeSize: writeSize, buffer: buffer, seed: seed)
            let gbps = Double(bytes) * 8 / r.wall / 1e9
            print(
                String(
                    format:
                        "MTU %5d: %.2f Gbit/s  wall %.2f s  CPU %.2f s (%.2f CPU-s/GiB)  segments %d  retransmits %d",
                    m,
                    gbps,
                    r.wall,
                    r.cpu,
                    r.cpu / (Double(bytes) / Double(1 << 30)),
                    r.segments,
                    r.retransmits
                )
            )
        }
    }

    static func parseSize(_ s: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        if let last = s.last, let u = units[Character(last.uppercased())] { return Int(s.dropLast()).map { $0 * u } }
        return Int(s)
    }

    struct Result {
        var wall: Double
        var cpu: Double
        var segments: UInt64
        var retransmits: UInt64
    }

    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec)
            + Double(u.ru_stime.tv_usec) / 1e6
    }

    static func transfer(bytes: Int, mtu: Int, writeSize: Int, buffer: Int, seed: UInt64) throws -> Result {
        func config(_ last: UInt8) -> StackConfiguration {
            var c = StackConfiguration(interfaces: [
                Interface(
                    name: "mem0",
                    mac: MACAddress(0x02, 0, 0, 0, 0, last),
                    mtu: mtu,
                    network: IPv4Network(address: IPv4Address(10, 0, 0, last), prefixLength: 24)
                )
            ])
            c.tcp.sendBuffer = buffer
            c.tcp.receiveBuffer = buffer
            return c
        }
        var a = Stack(configuration: config(1), seed: seed)
        var b = Stack(configuration: config(2), seed: seed &+ 1)
        var fa = Effects()
        var fb = Effects()
        var now = Instant(nanoseconds: 1_000_000_000)
        a.advance(to: now, into: &fa)
        b.advance(to: now, into: &fb)
        let lfd = try b.socket(.stream).get()
        try b.bind(lfd, port: 5001).get()
        try b.listen(lfd).get()
        let cfd = try a.socket(.stream).get()
        try a.connect(cfd, address: IPv4Address(10, 0, 0, 2), port: 5001, into: &fa).get()
        let chunk = [UInt8](repeating: 0x5A, count: writeSize)
        var sink = [UInt8](repeating: 0, count: 1 << 20)
        var sfd: Int32?
        var sent = 0
        var received = 0
        var shut = false
        let wall0 = MonotonicClock.now()
        let cpu0 = cpuSeconds()
        var idle = 0
        while received < bytes {
            var progressed = false
            // Frames from A to B and from B to A, until both are quiet.
            if !fa.frames.isEmpty {
                fa.frames.forEachFrame { _, frame in b.receive(frame: frame, interface: 0, now: now, into: &fb) }
                fa.removeAll()
                progressed = true
            }
            if !fb.frames.isEmpty {
                fb.frames.forEachFrame { _, frame in a.receive(frame: frame, interface: 0, now: now, into: &fa) }
                fb.removeAll()
                progressed = true
            }
            fa.events.removeAll(keepingCapacity: true)
            fb.events.removeAll(keepingCapacity: true)
            if sfd == nil, case .success(let x) = b.accept(lfd, into: &fb) { sfd = x.fd }
            while sent < bytes {
                let n = min(writeSize, bytes - sent)
                guard
                    case .success(let k) = chunk.withUnsafeBytes({
                        a.send(cfd, UnsafeRawBufferPointer(rebasing: $0[0..<n]), into: &fa)
                    }), k > 0
                else { break }
                sent += k
                progressed = true
            }
            if sent == bytes && !shut {
                _ = a.shutdown(cfd, how: .write, into: &fa)
                shut = true
            }
            if let sfd {
                while case .success(let r) = sink.withUnsafeMutableBytes({ b.receive(sfd, to: $0, into: &fb) }),
                    r.count > 0
                {
                    received += r.count
                    progressed = true
                }
            }
            if !progressed && fa.frames.isEmpty && fb.frames.isEmpty {
                // Idle: move virtual time to the next timer.
                let next = [a.nextDeadline(), b.nextDeadline()].compactMap { $0 }.min()
                guard let next else { break }
                now = max(now, next)
                a.advance(to: now, into: &fa)
                b.advance(to: now, into: &fb)
                idle += 1
                if idle > 1_000_000 { break }
            }
        }
        let wall = Double(MonotonicClock.now().nanoseconds(since: wall0)) / 1e9
        let cpu = cpuSeconds() - cpu0
        guard received == bytes else {
            throw ValidationError("transfer stopped after \(received) of \(bytes) bytes")
        }
        return Result(
            wall: wall,
            cpu: cpu,
            segments: a.counters[.tcpSegmentsOut],
            retransmits: a.counters[.tcpRetransmittedSegments]
        )
    }
}
