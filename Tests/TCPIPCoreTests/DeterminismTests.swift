import Glibc
import TCPIPDrivers
import Testing

@testable import TCPIPCore

/// The simulated network and the promise of the sans-IO core: the same seed gives the same
/// frames at the same times.
@Suite struct DeterminismTests {
    struct Outcome: Equatable {
        var hash: UInt64
        var frames: Int
        var received: [[UInt8]]
        var echoes: Int
        var end: Instant
    }

    /// A lossy, reordering, duplicating wire; A sends 30 datagrams and pings, B echoes the
    /// datagrams back.
    static func lossyScenario(seed: UInt64) -> Outcome {
        let faults = FaultConfiguration(
            loss: 0.15,
            duplicate: 0.05,
            reorder: 0.1,
            delay: 200_000,
            jitter: 300_000,
            reorderDelay: 2_000_000
        )
        var net = Hosts.pair(seed: seed, faults: faults, latency: 500_000)
        let server = net.udpSocket(on: 1, bind: 7)
        let client = net.udpSocket(on: 0)
        var received: [[UInt8]] = []
        for i in 0..<30 {
            net.sendTo(on: 0, client, Build.pattern(20 + i * 97, seed: UInt8(i)), to: Hosts.bIP, port: 7)
            let ping = Build.pattern(64)
            _ = net.perform(on: 0) { s, fx in
                ping.withUnsafeBytes {
                    s.sendEchoRequest(to: Hosts.bIP, identifier: 9, sequence: UInt16(i), payload: $0, into: &fx)
                }
            }
            net.run(for: 300_000_000)
            for _ in 0..<10 {
                guard let d = net.receive(on: 1, server).value else { break }
                net.sendTo(on: 1, server, d.bytes, to: d.address, port: d.port)
            }
            net.run(for: 50_000_000)
            for _ in 0..<10 {
                guard let d = net.receive(on: 0, client).value else { break }
                received.append(d.bytes)
            }
        }
        let echoes = net.events(of: 0).filter {
            if case .echoReply = $0 { return true }
            return false
        }.count
        return Outcome(hash: net.traceHash, frames: net.framesSent, received: received, echoes: echoes, end: net.now)
    }

    @Test func theSameSeedGivesTheSameTrace() {
        let a = Self.lossyScenario(seed: 42)
        let b = Self.lossyScenario(seed: 42)
        #expect(a == b)
        // The faults did something: some datagrams and pings were lost, some made it.
        #expect(a.received.count > 5 && a.received.count < 30, "seed 42 delivered \(a.received.count) of 30")
        #expect(a.echoes > 5 && a.echoes < 30)
    }

    @Test func aDifferentSeedGivesADifferentTrace() {
        let a = Self.lossyScenario(seed: 42)
        let c = Self.lossyScenario(seed: 43)
        #expect(a.hash != c.hash)
    }

    @Test func theObserverSeesEveryFrameAndTheHashFollowsIt() {
        var net = Hosts.pair()
        let log = WireLog()
        log.attach(to: &net)
        let fd = net.udpSocket(on: 0)
        net.sendTo(on: 0, fd, [1], to: Hosts.bIP, port: 7)
        net.settle()
        #expect(log.entries.count == net.framesSent)
        #expect(log.entries.count == 4, "ARP request, ARP reply, the datagram, Port Unreachable")
        #expect(log.entries.map(\.time.nanoseconds) == [0, 100_000, 200_000, 300_000], "one latency per hop")
        // Recompute the FNV-1a hash from the log.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ v: Int64) {
            var x = UInt64(bitPattern: v)
            for _ in 0..<8 {
                h = (h ^ (x & 0xFF)) &* 0x100_0000_01B3
                x >>= 8
            }
        }
        for e in log.entries {
            mix(e.time.nanoseconds)
            mix(Int64(e.from))
            mix(Int64(e.bytes.count))
            for b in e.bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        }
        #expect(h == net.traceHash)
    }

    @Test func aSharedSegmentOfThreeStacks() throws {
        let c = IPv4Address(10, 0, 0, 3)
        var net = SimulatedNetwork(
            stacks: [
                Hosts.configuration(ip: Hosts.aIP, mac: Hosts.aMAC),
                Hosts.configuration(ip: Hosts.bIP, mac: Hosts.bMAC),
                Hosts.configuration(ip: c, mac: MACAddress(0x02, 0, 0, 0, 0, 0x0C)),
            ],
            seed: 5,
            latency: 10_000
        )
        let log = WireLog()
        log.attach(to: &net)
        let payload: [UInt8] = [1, 2, 3]
        _ = net.perform(on: 0) { s, fx in
            payload.withUnsafeBytes { s.sendEchoRequest(to: c, identifier: 3, sequence: 3, payload: $0, into: &fx) }
        }
        net.settle()
        #expect(log.entries.map(\.from) == [0, 2, 0, 2])
        #expect(net.events(of: 0).count == 1)
        // B hears everything: the broadcast request is not for it, the unicast frames are not
        // for its MAC, and it learns nobody.
        #expect(net.stacks[1].counters[.linkFramesIn] == 4)
        #expect(net.stacks[1].counters[.arpNotForUs] == 1)
        #expect(net.stacks[1].counters[.linkNotForUs] == 3)
        #expect(net.stacks[1].neighbor(Hosts.aIP) == nil)
        #expect(net.wire.delivered == 8)
    }

    @Test func steppingStopsWhenNothingIsLeft() {
        var net = Hosts.pair()
        #expect(net.nextEvent == nil)
        #expect(net.step() == false)
        #expect(net.now == .zero)
        net.run(for: 5_000_000_000)
        #expect(net.now == Instant(nanoseconds: 5_000_000_000), "run(for:) moves the clock even when idle")
        // A resolved neighbour leaves only its aging timer, far away.
        let fd = net.udpSocket(on: 0)
        net.sendTo(on: 0, fd, [1], to: Hosts.bIP, port: 7)
        net.settle()
        let next = net.nextEvent
        #expect(next != nil && next! > net.now.adding(seconds: 100))
    }

    @Test func runUntilAConditionHasAStepCap() {
        var net = Hosts.pair(faults: FaultConfiguration(loss: 1))
        let fd = net.udpSocket(on: 0)
        net.sendTo(on: 0, fd, [1], to: Hosts.bIP, port: 7)
        // Everything is lost: ARP retries, gives up, and then nothing is left to happen.
        #expect(net.run(until: { _ in false }, maxSteps: 2) == false)
        #expect(net.steps == 2)
        #expect(net.run(until: { _ in false }, maxSteps: 1000) == false)
        #expect(net.nextEvent == nil)
        #expect(net.stacks[0].counters[.arpRequestsOut] == 3)
        #expect(net.wire.injector(from: 0, to: 1).lost == 3)
        // An unconnected socket is not told (as Linux without IP_RECVERR).
        #expect(net.events(of: 0).isEmpty)
        #expect(net.now == Instant(nanoseconds: 3_000_000_000))
    }

    @Test func injectedFramesAreAnswered() throws {
        var net = Hosts.pair()
        let log = WireLog()
        log.attach(to: &net)
        let request = Build.arp(
            ARPOperation.request,
            senderMAC: Hosts.peerMAC,
            senderIP: Hosts.peerIP,
            targetIP: Hosts.aIP
        )
        request.withUnsafeBytes { net.inject($0, into: 0) }
        let reply = try #require(log.decoded(from: 0).first)
        #expect(reply.isARPReply && reply.ethernet.destination == Hosts.peerMAC)
        // The reply also went on the wire, where B ignores it (not its MAC).
        net.settle()
        #expect(net.stacks[1].counters[.linkNotForUs] == 1)
    }

    @Test func framesGoToThePcapFileWithVirtualTimestamps() throws {
        let path = "/tmp/swift-tcpip-simnet-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).pcap"
        defer { unlink(path) }
        var net = Hosts.pair(latency: 1_500_000)
        net.pcap = try PcapWriter(path: path)
        let fd = net.udpSocket(on: 0)
        net.sendTo(on: 0, fd, [1, 2, 3], to: Hosts.bIP, port: 7)
        net.settle()
        try net.pcap?.close()
        #expect(net.pcap?.frameCount == net.framesSent)
        // Read the file back: global header, then (ts_sec, ts_usec, incl_len, orig_len) records.
        let f = try #require(fopen(path, "rb"))
        defer { fclose(f) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = fread(&bytes, 1, bytes.count, f)
        func le32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        #expect(le32(0) == 0xA1B2_C3D4 && le32(20) == 1)
        var offset = 24
        var stamps: [UInt32] = []
        while offset + 16 <= n, stamps.count < 100 {
            stamps.append(le32(offset) * 1_000_000 + le32(offset + 4))
            offset += 16 + Int(le32(offset + 8))
        }
        #expect(offset == n)
        #expect(stamps == [0, 1500, 3000, 4500], "microseconds of virtual time, one latency per hop")
    }
}
