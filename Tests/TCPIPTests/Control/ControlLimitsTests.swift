import Foundation
import Synchronization
import TCPIPDrivers
import Testing

@testable import TCPIP
@testable import TCPIPCore

/// The control server's limits (`ControlLimits`, CONTROL-PROTOCOL.md "Limits") against clients
/// that misbehave: garbage, an endless line, a thousand clients, one too many, one that never
/// reads. Each limit is counted; the stack and the other clients are served meanwhile.
///
/// Serialized: the bounded-memory test reads the process's resident set, which the thousand
/// clients' threads would swell if they ran beside it.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ControlLimitsTests {
    @Test func garbageLinesGetEPROTOAndTheConnectionStaysUsable() async throws {
        try await ControlServerTests.withServer(limits: ControlLimits()) { _, path, server in
            let client = try ControlLineClient(path: path)
            let garbage: [[UInt8]] = [
                Array("not json".utf8), [], [0, 1, 2, 3], [0xFF, 0xFE, 0xFD], Array("[1,2,3]".utf8), Array("42".utf8),
                Array("\"op\"".utf8), Array("{".utf8), Array("{\"op\":".utf8), Array("}}}}".utf8),
                // Nesting deep enough to overflow a recursive parser's stack.
                Array(repeating: UInt8(ascii: "["), count: 200_000),
                Array(repeating: UInt8(ascii: "{"), count: 100_000),
            ]
            let answers = try await Blocking.run { () throws -> [String?] in
                try garbage.map { line in
                    try client.connection.writeAll(line + [UInt8(ascii: "\n")])
                    return try client.readLine()
                }
            }
            for (line, answer) in zip(garbage, answers) {
                #expect(answer?.contains("\"error\":\"EPROTO\"") == true, "\(line.prefix(20)): \(answer ?? "hung up")")
            }
            #expect(try await ControlServerTests.call(client, ["op": "hello"])["ok"] as? Bool == true)
            #expect(server.statistics.drop("bad_line") == UInt64(garbage.count))
            let stats = try await ControlServerTests.call(client, ["op": "stats"])
            let drops = (stats["control"] as? [String: Any])?["drops"] as? [String: Any]
            #expect(drops?["bad_line"] as? Int == garbage.count, "\(stats["control"] ?? "no control section")")
        }
    }

    /// A 100 MiB line, streamed: one `EMSGSIZE` once it passes 1 MiB, nothing held beyond
    /// that, the connection usable once it ends; other clients and the network are served
    /// all along.
    @Test func aHundredMebibyteLineIsRefusedOnceAndDiscardedInBoundedMemory() async throws {
        try await ControlServerTests.withServer(limits: ControlLimits()) { pair, path, server in
            let streamer = try ControlLineClient(path: path)
            let other = try ControlLineClient(path: path)
            let baseline = Self.residentBytes()
            let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
            let finished = Flag()
            let streaming = Blocking.start { () throws -> (refusal: String?, peak: Int) in
                defer { finished.value.store(true, ordering: .sequentiallyConsistent) }
                var peak = 0
                try streamer.connection.writeAll(chunk)
                try streamer.connection.writeAll(chunk)
                // The refusal comes as soon as the line passes the limit, not at its end.
                let refusal = try streamer.readLine()
                for _ in 2..<100 {
                    try streamer.connection.writeAll(chunk)
                    peak = max(peak, Self.residentBytes())
                }
                try streamer.connection.writeAll(Array("\n".utf8))
                return (refusal, peak)
            }
            // Meanwhile: another client is answered, and A's stack answers B over the network.
            let udpA = try DatagramSocket(host: pair.a)
            let udpB = try DatagramSocket(host: pair.b)
            try udpA.bind(port: 6100)
            try udpB.bind(port: 6101)
            var answered = 0
            var exchanged = 0
            while answered < 3 || !finished.value.load(ordering: .sequentiallyConsistent) {
                if try await ControlServerTests.call(other, ["op": "hello"])["ok"] as? Bool == true { answered += 1 }
                let got = Blocking.start { try udpA.receiveFrom(timeout: .seconds(10)) }
                try udpB.sendTo([UInt8(exchanged & 0xFF)], address: HostPair.addressA, port: 6100)
                if try await got.value.bytes.count == 1 { exchanged += 1 }
                if answered >= 200 { break }
            }
            let (refusal, peak) = try await streaming.value
            #expect(refusal?.contains("\"error\":\"EMSGSIZE\"") == true, "\(refusal ?? "hung up")")
            #expect(answered >= 3 && exchanged >= 3)
            // The line is not held: memory grows by far less than its 100 MiB (other tests
            // running beside this one allocate too, hence the generous bound).
            let growth = peak - baseline
            #expect(growth < 64 << 20, "resident memory grew by \(growth >> 20) MiB while streaming")
            // The connection goes on: the next line is a request like any other.
            #expect(try await ControlServerTests.call(streamer, ["op": "hello"])["ok"] as? Bool == true)
            #expect(server.statistics.drop("line_too_long") == 1)
            try udpA.close()
            try udpB.close()
        }
    }

    /// A thousand clients connected at once, each with a request in flight, all answered.
    @Test func aThousandClientsAtOnce() async throws {
        let wanted = 1000
        let count = Self.clientsTheDescriptorLimitAllows(wanted)
        if count < wanted {
            print("aThousandClientsAtOnce: the descriptor limit allows \(count) clients, not \(wanted)")
        }
        try await ControlServerTests.withServer(limits: ControlLimits(maxClients: wanted + 24)) { _, path, server in
            let (answers, connected) = try await Blocking.run { () throws -> ([Bool], UInt64?) in
                let clients = try (0..<count).map { _ in try ControlLineClient(path: path) }
                for c in clients { try c.connection.writeAll(Array("{\"op\":\"hello\"}\n".utf8)) }
                let answers = try clients.map { c in try c.readLine()?.contains("\"ok\":true") == true }
                return (answers, server.statistics.counter("clients_connected"))
            }
            #expect(answers.count == count && answers.allSatisfy { $0 })
            #expect(connected == UInt64(count))
            #expect(server.statistics.drop("too_many_clients") == 0)
            // Their threads end once they hang up.
            #expect(await Self.eventually { server.statistics.counter("clients_connected") == 0 })
            #expect(server.statistics.counter("clients_accepted") == UInt64(count))
        }
    }

    @Test func aClientBeyondTheLimitGetsEUSERSAndIsHungUpOn() async throws {
        let recorder = Recorder()
        let limits = ControlLimits(maxClients: 3)
        try await ControlServerTests.withServer(limits: limits, trace: recorder.record) { _, path, server in
            var clients: [ControlLineClient] = []
            for _ in 0..<3 {
                let c = try ControlLineClient(path: path)
                #expect(try await ControlServerTests.call(c, ["op": "hello"])["ok"] as? Bool == true)
                clients.append(c)
            }
            let extra = try ControlLineClient(path: path)
            let (refusal, after) = try await Blocking.run { (try extra.readLine(), try extra.readLine()) }
            #expect(refusal?.contains("\"error\":\"EUSERS\"") == true, "\(refusal ?? "hung up")")
            #expect(after == nil, "the server should hang up after the refusal")
            #expect(server.statistics.drop("too_many_clients") == 1)
            #expect(recorder.lines.contains { $0.hasPrefix("control: client refused (EUSERS): 3 clients") })
            // Those already connected are served on; once one leaves, a newcomer is taken.
            #expect(try await ControlServerTests.call(clients[0], ["op": "hello"])["ok"] as? Bool == true)
            clients.removeLast()
            #expect(await Self.eventually { server.statistics.counter("clients_connected") == 2 })
            let late = try ControlLineClient(path: path)
            #expect(try await ControlServerTests.call(late, ["op": "hello"])["ok"] as? Bool == true)
        }
    }

    /// A client that sends requests and never reads the replies is hung up on once they pass
    /// the limit; another client is served throughout. A client that pipelines within the
    /// limit is not.
    @Test func aClientThatNeverReadsIsDroppedAndHoldsUpNoOne() async throws {
        let limits = ControlLimits(maxQueuedBytes: 64 * 1024)
        try await ControlServerTests.withServer(limits: limits) { _, path, server in
            let silent = try ControlLineClient(path: path)
            let other = try ControlLineClient(path: path)
            let burst = Array(String(repeating: "{\"op\":\"stats\"}\n", count: 100).utf8)
            let dropped = Blocking.start { () -> Int? in
                // Each reply is kilobytes; far fewer bursts than this fill every buffer.
                for i in 0..<2000 {
                    do { try silent.connection.writeAll(burst) } catch { return i }
                }
                return nil
            }
            #expect(try await ControlServerTests.call(other, ["op": "hello"])["ok"] as? Bool == true)
            #expect(try await dropped.value != nil, "the server should hang up on a client that never reads")
            #expect(server.statistics.drop("slow_reader") == 1)
            #expect(try await ControlServerTests.call(other, ["op": "hello"])["ok"] as? Bool == true)

            let pipelining = try ControlLineClient(path: path)
            let replies = try await Blocking.run { () throws -> [String?] in
                try pipelining.connection.writeAll(Array(String(repeating: "{\"op\":\"hello\"}\n", count: 50).utf8))
                return try (0..<50).map { _ in try pipelining.readLine() }
            }
            #expect(replies.allSatisfy { $0?.contains("\"ok\":true") == true })
            #expect(server.statistics.drop("slow_reader") == 1)
        }
    }

    // MARK: - Helpers

    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// Keeps the trace lines a server prints.
    final class Recorder: Sendable {
        let events = Locked<[String]>([])
        var lines: [String] { events.withLock { $0 } }
        @Sendable func record(_ event: ControlEvent) { events.withLock { $0.append(event.description) } }
    }

    /// The resident set of this process, in bytes (`/proc/self/statm`).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * sysconf(Int32(_SC_PAGESIZE))
    }

    /// How many control clients this process can hold at once, up to `wanted`: each takes two
    /// descriptors (its end and the server's), plus room for everything else. Raises the
    /// soft limit toward the hard one when that is needed.
    static func clientsTheDescriptorLimitAllows(_ wanted: Int) -> Int {
        let spare = 256
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 100 }
        let needed = rlim_t(2 * wanted + spare)
        if limit.rlim_cur < needed {
            var raised = limit
            raised.rlim_cur = min(needed, limit.rlim_max)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return max(1, min(wanted, (Int(clamping: limit.rlim_cur) - spare) / 2))
    }

    /// Whether `condition` becomes true within 10 s (checked every 10 ms).
    static func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<1000 {
            if condition() { return true }
            await Blocking.pause(.milliseconds(10))
        }
        return condition()
    }
}
