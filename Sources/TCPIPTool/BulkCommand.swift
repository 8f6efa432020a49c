import ArgumentParser
import Foundation
import TCPIP
import TCPIPCore
import TCPIPDrivers

/// `tcpip bulk`: the stack sends to a TCP sink over a TAP interface the way the benchmark
/// harness's `loadgen bulk` sends to a stack under test — 64 KiB writes for N seconds, then a half-close,
/// then wait for the sink's FIN — and reports bytes / (connect → EOF). It measures the
/// direction the bench's own shapes do not: the stack sending, Linux receiving.
struct BulkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulk",
        abstract: "Bulk-send to a TCP sink over a TAP interface and report Gbit/s (the bench's bulk shape, reversed)."
    )

    @OptionGroup var interface: InterfaceOptions

    @Option(name: .long, help: "The sink, A.B.C.D:PORT.")
    var to: String

    @Option(name: .long, help: "Seconds of writing.")
    var seconds: Double = 5

    @Option(name: .long, help: "Bytes per write.")
    var writeSize: Int = 65536

    @OptionGroup(title: "Fault injection") var faults: FaultOptions

    func run() throws {
        TerminationSignals.block()
        try reportingFailures(bulk)
    }

    func bulk() throws(ToolFailure) -> Int32 {
        let parts = to.split(separator: ":")
        guard parts.count == 2, let address = IPv4Address(String(parts[0])), let port = UInt16(parts[1]), port > 0
        else {
            throw ToolFailure("bulk: invalid --to '\(to)': expected A.B.C.D:PORT")
        }
        let (host, _) = try interface.makeHost(faults: faults)
        let app = BulkSender(
            address: address,
            port: port,
            duration: Int64(seconds * 1e9),
            writeSize: max(1, writeSize)
        )
        host.add(app)
        do {
            try host.start()
        } catch {
            throw ToolFailure("bulk: \(error.message) (\(error.name))")
        }
        let finished = app.done.wait(timeout: .now() + seconds + 30)
        host.stop()
        let r = app.result.withLock { $0 }
        if let e = r.error { throw ToolFailure("bulk to \(to): \(e.name) (\(e.message))") }
        guard finished == .success else { throw ToolFailure("bulk to \(to): no EOF from the sink in time") }
        let secs = Double(r.end.nanoseconds(since: r.start)) / 1e9
        let gbps = String(format: "%.3f", Double(r.bytes) * 8 / secs / 1e9)
        Output.out(
            "bulk_gbps=\(gbps) bytes=\(r.bytes) secs=\(String(format: "%.3f", secs)) retransmits=\(r.retransmits)"
        )
        return 0
    }
}

/// Sends as fast as the connection allows on the owner thread, driven by socket events.
final class BulkSender: HostApplication, @unchecked Sendable {
    struct Outcome: Sendable {
        var start = Instant.zero
        var end = Instant.zero
        var bytes = 0
        var retransmits = 0
        var error: Errno?
    }

    let address: IPv4Address
    let port: UInt16
    let duration: Int64
    let chunk: [UInt8]
    let done = DispatchSemaphore(value: 0)
    let result = Locked(Outcome())
    var fd: Int32 = -1
    var start = Instant.zero
    var sent = 0
    var connected = false
    var shut = false
    var finished = false
    var sink = [UInt8](repeating: 0, count: 65536)

    init(address: IPv4Address, port: UInt16, duration: Int64, writeSize: Int) {
        self.address = address
        self.port = port
        self.duration = duration
        chunk = [UInt8](repeating: 0x42, count: writeSize)
    }

    func start(stack: inout Stack, effects: inout Effects) throws(Errno) {
        fd = try stack.socket(.stream).get()
        start = MonotonicClock.now()
        try stack.connect(fd, address: address, port: port, into: &effects).get()
    }

    func handle(_ event: SocketEvent, stack: inout Stack, effects: inout Effects) {
        guard let f = event.descriptor, f == fd, !finished else { return }
        if !connected {
            switch stack.connect(fd, address: address, port: port, into: &effects) {
            case .failure(let e) where e == .EISCONN: connected = true
            case .failure(let e) where e == .EALREADY: return
            case .failure(let e): return finish(error: e, stack: &stack, effects: &effects)
            case .success: return
            }
        }
        let now = MonotonicClock.now()
        if !shut && now.nanoseconds(since: start) < duration {
            while case .success(let n) = chunk.withUnsafeBytes({ stack.send(fd, $0, into: &effects) }), n > 0 {
                sent += n
            }
        } else if !shut {
            shut = true
            _ = stack.shutdown(fd, how: .write, into: &effects)
        }
        // Wait for the sink's FIN.
        while true {
            switch sink.withUnsafeMutableBytes({ stack.receive(fd, to: $0, into: &effects) }) {
            case .success(let r) where r.eof: return finish(error: nil, stack: &stack, effects: &effects)
            case .success(let r) where r.count > 0: continue
            case .failure(let e) where e != .EAGAIN: return finish(error: e, stack: &stack, effects: &effects)
            default: return
            }
        }
    }

    func finish(error: Errno?, stack: inout Stack, effects: inout Effects) {
        finished = true
        let retransmits = (try? stack.tcpInfo(fd).get())??.retransmitsTotal ?? 0
        _ = stack.close(fd, into: &effects)
        let end = MonotonicClock.now()
        result.withLock {
            $0 = Outcome(start: start, end: end, bytes: sent, retransmits: retransmits, error: error)
        }
        done.signal()
    }
}
