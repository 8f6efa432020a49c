import Foundation
import Glibc
import Synchronization
import TCPIPDrivers
import Testing

// The interop harness: the Linux kernel on the far side of a TAP interface, inside a network
// namespace each test creates and always deletes. Nothing here touches
// the root namespace: every address, route and frame lives in a namespace of the test's own.
//
// Every wait is an `await` on a short sleep, never a blocked thread: Swift Testing runs tests on
// the cooperative pool (two threads on a two-core machine), and a test that blocks it would
// stall every other test of the process.

/// Sleeps `milliseconds` without holding a cooperative thread; once the task is cancelled (a
/// time limit ran out) it blocks instead, so bounded cleanup loops still take their time.
func pause(milliseconds: Int) async {
    if Task.isCancelled {
        usleep(UInt32(milliseconds) * 1000)
    } else {
        do { try await Task.sleep(nanoseconds: UInt64(milliseconds) * 1_000_000) } catch {
            usleep(UInt32(milliseconds) * 1000)
        }
    }
}

/// Errors of the harness itself (not of the stack under test).
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What the interop tests need from the machine, checked once.
enum InteropEnvironment {
    /// Why the interop tests cannot run here, or nil when they can.
    static let unavailableReason: String? = {
        var missing: [String] = []
        if getuid() != 0 { missing.append("root (uid 0)") }
        if access("/dev/net/tun", F_OK) != 0 { missing.append("/dev/net/tun") }
        if which("ip") == nil { missing.append("the ip command (iproute2)") }
        if which("python3") == nil { missing.append("python3") }
        if tcpipBinary == nil { missing.append("the tcpip executable next to the test bundle") }
        guard !missing.isEmpty else { return nil }
        let reason = "TCPIPInteropTests skipped: they need " + missing.joined(separator: ", ")
        print(reason)  // Printed once: this is a lazily initialized global.
        return reason
    }()

    /// True when the interop tests can run.
    static var isAvailable: Bool { unavailableReason == nil }

    /// True when `ping` (iputils) is installed too.
    static var hasPing: Bool { isAvailable && which("ping") != nil }

    /// True when `tshark` is installed too.
    static var hasTshark: Bool { isAvailable && which("tshark") != nil }

    /// The `tcpip` executable SwiftPM built beside the test bundle (`TCPIP_BINARY` overrides).
    static let tcpipBinary: String? = {
        if let path = ProcessInfo.processInfo.environment["TCPIP_BINARY"], isExecutable(path) { return path }
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return nil
        }
        // The bundle is `<build>/<triple>/debug/swift-tcpipPackageTests.xctest`; the tool sits in
        // the same directory. Walk up a few levels in case a toolchain nests the bundle deeper.
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("tcpip").path
            if isExecutable(candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    /// The absolute path of `command` in PATH (plus the sbin directories), or nil.
    static func which(_ command: String) -> String? {
        if command.hasPrefix("/") { return isExecutable(command) ? command : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let dirs = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        for dir in dirs where !dir.isEmpty {
            let candidate = dir + "/" + command
            if isExecutable(candidate) { return candidate }
        }
        return nil
    }

    static func isExecutable(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && access(path, X_OK) == 0
    }
}

/// The outcome of a command run to completion (or killed at its deadline).
struct CommandResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool

    var description: String {
        "exit \(status)\(timedOut ? " (killed at its deadline)" : "")\nstdout:\n\(stdout)\nstderr:\n\(stderr)"
    }
}

/// Runs commands with Foundation `Process`, output to files (no pipe can fill and stall).
enum Command {
    /// Runs `argv` (the first element looked up in PATH) for at most `timeout` seconds; on the
    /// deadline the process is killed by its PID. `directory` holds the output files.
    static func run(_ argv: [String], timeout: Double = 30, directory: String) async throws -> CommandResult {
        let running = try RunningCommand(argv, directory: directory)
        let timedOut = await !running.wait(timeout: timeout)
        if timedOut { await running.kill() }
        return CommandResult(
            status: running.status ?? -1,
            stdout: running.stdout,
            stderr: running.stderr,
            timedOut: timedOut
        )
    }
}

/// A launched process whose stdout and stderr go to files in a directory.
final class RunningCommand: @unchecked Sendable {
    let process = Process()
    let stdoutPath: String
    let stderrPath: String
    private let stdoutHandle: FileHandle
    private let stderrHandle: FileHandle
    private static let serial = Atomic<Int>(0)

    init(_ argv: [String], directory: String) throws {
        guard let first = argv.first, let executable = InteropEnvironment.which(first) else {
            throw HarnessError("cannot find \(argv.first ?? "(empty command)") in PATH")
        }
        let n = Self.serial.add(1, ordering: .relaxed).newValue
        let base = (directory as NSString).appendingPathComponent("cmd-\(n)-\((first as NSString).lastPathComponent)")
        stdoutPath = base + ".out"
        stderrPath = base + ".err"
        for path in [stdoutPath, stderrPath] {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw HarnessError("cannot create \(path)")
            }
        }
        stdoutHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        stderrHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(argv.dropFirst())
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdoutHandle
        process.standardError = stderrHandle
        try process.run()
    }

    deinit {
        try? stdoutHandle.close()
        try? stderrHandle.close()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// The exit status (or 128 + signal), nil while running.
    var status: Int32? {
        guard !process.isRunning else { return nil }
        return process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// Waits at most `timeout` seconds for the process to exit; true if it did.
    @discardableResult
    func wait(timeout: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        // Bounded: at most timeout / 10 ms turns.
        for _ in 0..<max(1, Int(timeout * 100) + 1) {
            if !process.isRunning { return true }
            if Date() >= deadline { break }
            await pause(milliseconds: 10)
        }
        return !process.isRunning
    }

    /// Stops the process by its PID: SIGTERM, then SIGKILL if it is still there after `grace`
    /// seconds. Returns its exit status (128 + signal when a signal ended it).
    @discardableResult
    func stop(grace: Double = 2) async -> Int32? {
        if process.isRunning {
            Glibc.kill(pid, SIGTERM)
            if await !wait(timeout: grace) { await kill() }
        }
        return status
    }

    /// SIGKILL by PID, then waits (bounded) for the process to be reaped.
    func kill() async {
        guard process.isRunning else { return }
        Glibc.kill(pid, SIGKILL)
        await wait(timeout: 5)
    }

    /// Waits at most `timeout` seconds for a stdout line containing `text`; true if one came.
    func waitForLine(containing text: String, timeout: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        for _ in 0..<max(1, Int(timeout * 50) + 1) {
            if stdout.split(separator: "\n").contains(where: { $0.contains(text) }) { return true }
            if !process.isRunning || Date() >= deadline { break }
            await pause(milliseconds: 20)
        }
        return stdout.split(separator: "\n").contains(where: { $0.contains(text) })
    }
}

/// A network namespace of one test's own: `lo` up, IPv6 off, and a persistent TAP `tap0`
/// whose kernel side is 10.99.0.1/24. The stack attaches to `tap0` as 10.99.0.2.
///
/// Use `Namespace.with { ns in … }`: it always deletes the namespace, even when the body throws.
final class Namespace: @unchecked Sendable {
    /// The kernel's address on tap0.
    static let linuxAddress = "10.99.0.1"
    /// The address the tests give the stack.
    static let stackAddress = "10.99.0.2"
    /// The MAC address the tests give the stack.
    static let stackMAC = "02:00:5e:99:00:02"
    private static let serial = Atomic<Int>(0)

    /// `tcpip-it-<pid>-<n>`.
    let name: String
    /// A scratch directory of the test's own (command output, pcap files, control socket).
    let directory: String
    private let ip: String
    private var processes: [RunningCommand] = []
    private let lock = Locked<Void>(())

    /// Runs `body` in a fresh namespace and deletes the namespace afterwards, whatever happens.
    static func with<T>(_ body: (Namespace) async throws -> T) async throws -> T {
        let ns = try Namespace()
        do {
            try await ns.configure()
        } catch {
            await ns.delete()
            throw error
        }
        let result: T
        do {
            result = try await body(ns)
        } catch {
            await ns.delete()
            throw error
        }
        await ns.delete()
        return result
    }

    private init() throws {
        guard let ip = InteropEnvironment.which("ip") else { throw HarnessError("no ip command") }
        self.ip = ip
        let n = Self.serial.add(1, ordering: .relaxed).newValue
        name = "tcpip-it-\(getpid())-\(n)"
        // Short, fixed prefix: a Unix socket path must fit in 108 bytes.
        directory = "/tmp/\(name)"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Creates the namespace and its tap0; `with` deletes whatever was made if this fails.
    private func configure() async throws {
        try await check([ip, "netns", "add", name])
        // IPv6 off before tap0 exists, so the kernel sends no router or neighbour solicitations.
        try await check([
            ip, "netns", "exec", name, "sh", "-c",
            "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6;"
                + " echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6",
        ])
        try await check([ip, "-n", name, "link", "set", "lo", "up"])
        try await check([ip, "-n", name, "tuntap", "add", "dev", "tap0", "mode", "tap"])
        try await check([ip, "-n", name, "addr", "add", "\(Self.linuxAddress)/24", "dev", "tap0"])
        try await check([ip, "-n", name, "link", "set", "tap0", "up"])
    }

    private func check(_ argv: [String]) async throws {
        let r = try await Command.run(argv, timeout: 10, directory: directory)
        guard r.status == 0, !r.timedOut else {
            throw HarnessError("\(argv.joined(separator: " ")) failed: \(r)")
        }
    }

    /// Runs `argv` inside the namespace (`ip netns exec`) to completion or `timeout`.
    func run(_ argv: [String], timeout: Double = 30) async throws -> CommandResult {
        try await Command.run([ip, "netns", "exec", name] + argv, timeout: timeout, directory: directory)
    }

    /// Starts `argv` inside the namespace and returns at once; `delete` stops it if the test did not.
    func start(_ argv: [String]) throws -> RunningCommand {
        // `ip netns exec` switches namespace and execs the command: the PID is the command's.
        let p = try RunningCommand([ip, "netns", "exec", name] + argv, directory: directory)
        lock.withLock { _ in processes.append(p) }
        return p
    }

    /// Runs a python3 script inside the namespace with `arguments`.
    func python(_ script: String, _ arguments: [String] = [], timeout: Double = 30) async throws -> CommandResult {
        try await run(["python3", try write(script: script)] + arguments, timeout: timeout)
    }

    /// Starts a python3 script inside the namespace and returns at once.
    func startPython(_ script: String, _ arguments: [String] = []) throws -> RunningCommand {
        try start(["python3", try write(script: script)] + arguments)
    }

    private func write(script: String) throws -> String {
        let n = Self.serial.add(1, ordering: .relaxed).newValue
        let path = "\(directory)/script-\(n).py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts `tcpip serve --tap tap0 --address 10.99.0.2/24 --mac … <extra>` and waits for it
    /// to print `ready`.
    func startStack(_ extra: [String] = [], readyTimeout: Double = 10) async throws -> StackProcess {
        try await StackProcess.start(namespace: self, extra: extra, readyTimeout: readyTimeout)
    }

    /// Stops whatever still runs in the namespace, removes tap0 and the namespace, and the
    /// scratch directory. Every step is bounded; failures are printed, not thrown.
    func delete() async {
        for p in lock.withLock({ _ in processes }) { await p.stop() }
        // Anything else still inside (a child a command left behind) was started by this test.
        if let r = try? await Command.run([ip, "netns", "pids", name], timeout: 5, directory: "/tmp") {
            for pid in r.stdout.split(separator: "\n").compactMap({ Int32($0) }) where pid > 1 {
                Glibc.kill(pid, SIGKILL)
            }
        }
        _ = try? await Command.run(
            [ip, "-n", name, "tuntap", "del", "dev", "tap0", "mode", "tap"],
            timeout: 10,
            directory: "/tmp"
        )
        let r = try? await Command.run([ip, "netns", "del", name], timeout: 10, directory: "/tmp")
        if r?.status != 0 { print("warning: could not delete namespace \(name): \(r.map { "\($0)" } ?? "")") }
        if ProcessInfo.processInfo.environment["TCPIP_KEEP_INTEROP_FILES"] == nil {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}

/// `tcpip serve` running inside a namespace, attached to its tap0.
final class StackProcess: @unchecked Sendable {
    let command: RunningCommand
    let namespace: Namespace
    /// The control socket's path, when `--control` was given.
    let controlPath: String?

    private init(command: RunningCommand, namespace: Namespace, controlPath: String?) {
        self.command = command
        self.namespace = namespace
        self.controlPath = controlPath
    }

    static func start(namespace: Namespace, extra: [String], readyTimeout: Double) async throws -> StackProcess {
        guard let binary = InteropEnvironment.tcpipBinary else { throw HarnessError("no tcpip executable") }
        var controlPath: String?
        if let i = extra.firstIndex(of: "--control"), i + 1 < extra.count {
            controlPath = extra[i + 1]
        }
        // TCPIP_INTEROP_OFFLOAD=off runs every stack without virtio-net offloads (CI runs the
        // suites both ways); a test that names --offload itself keeps its own choice.
        var offload: [String] = []
        if let o = ProcessInfo.processInfo.environment["TCPIP_INTEROP_OFFLOAD"], !extra.contains("--offload"),
            !extra.contains(where: { $0.hasPrefix("--loss") || $0.hasPrefix("--corrupt") || $0.hasPrefix("--delay") })
        {
            offload = ["--offload", o]
        }
        let argv =
            [
                binary, "serve", "--tap", "tap0", "--address", "\(Namespace.stackAddress)/24", "--mac",
                Namespace.stackMAC,
            ] + offload + extra
        let command = try namespace.start(argv)
        guard await command.waitForLine(containing: "ready", timeout: readyTimeout) else {
            await command.stop()
            throw HarnessError(
                "tcpip serve \(extra.joined(separator: " ")) printed no ready line within \(readyTimeout) s "
                    + "(exit \(command.status.map(String.init) ?? "none, still running"))\n"
                    + "stdout:\n\(command.stdout)\nstderr:\n\(command.stderr)"
            )
        }
        return StackProcess(command: command, namespace: namespace, controlPath: controlPath)
    }

    var pid: Int32 { command.pid }
    var isRunning: Bool { command.isRunning }

    /// SIGTERM by PID (SIGKILL after 2 s); returns the exit status.
    @discardableResult
    func stop() async -> Int32? { await command.stop(grace: 2) }

    /// A new connection to the control socket.
    func control() async throws -> ControlClient {
        guard let path = controlPath else { throw HarnessError("the stack was started without --control") }
        return try await ControlClient.connect(path: path)
    }
}

/// A client of the control protocol (JSON Lines over a Unix stream socket; CONTROL-PROTOCOL.md).
///
/// The socket is non-blocking and every wait is a short `pause`, bounded by `timeout`.
final class ControlClient {
    private let fd: Int32
    private let timeout: Double
    private var buffer: [UInt8] = []

    private init(fd: Int32, timeout: Double) {
        self.fd = fd
        self.timeout = timeout
    }

    deinit { Glibc.close(fd) }

    /// Connects to `path`, retrying for up to 3 s while the socket is not there yet. A call
    /// fails after `timeout` seconds without an answer.
    static func connect(path: String, timeout: Double = 20) async throws -> ControlClient {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw HarnessError("control path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        var lastError: Int32 = 0
        for _ in 0..<60 {
            let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard s >= 0 else { throw HarnessError("socket(AF_UNIX): errno \(errno)") }
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if rc == 0 {
                _ = fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)
                return ControlClient(fd: s, timeout: timeout)
            }
            lastError = errno
            Glibc.close(s)
            await pause(milliseconds: 50)
        }
        throw HarnessError("cannot connect to \(path): errno \(lastError)")
    }

    /// Sends one request object and returns the response object.
    func call(_ request: [String: Any]) async throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: request, options: [.sortedKeys])
        return try await callRaw(String(decoding: data, as: UTF8.self))
    }

    /// Sends `line` as is (plus a newline) and returns the response object.
    func callRaw(_ line: String) async throws -> [String: Any] {
        let response = try await exchange(line)
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.utf8)) as? [String: Any] else {
            throw HarnessError("control response is not a JSON object: \(response)")
        }
        return object
    }

    /// Sends one line and returns the response line.
    func exchange(_ line: String) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var out = Array(line.utf8)
        out.append(UInt8(ascii: "\n"))
        var sent = 0
        // Bounded by the deadline and by a count of turns (each sleeps 2 ms or makes progress).
        for _ in 0..<1_000_000 where sent < out.count {
            let n = out.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + sent, out.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                sent += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) && Date() < deadline {
                await pause(milliseconds: 2)
            } else {
                throw HarnessError("control send failed: errno \(errno) for: \(line.prefix(200))")
            }
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<1_000_000 {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let text = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return text
            }
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) && Date() < deadline {
                await pause(milliseconds: 2)
            } else if n == 0 {
                throw HarnessError("control connection closed after: \(line.prefix(200))")
            } else {
                throw HarnessError("no control answer (errno \(errno)) within \(timeout) s to: \(line.prefix(200))")
            }
        }
        throw HarnessError("control response too long")
    }
}

extension [String: Any] {
    /// `ok` is true.
    var ok: Bool { self["ok"] as? Bool == true }
    /// The `error` name of a failed response.
    var errorName: String? { self["error"] as? String }
}

/// The `stats` response: total drops over every layer, and each counter.
struct StackStats {
    var layers: [String: [String: Any]]

    init(_ response: [String: Any]) throws {
        // The layers are the response's fields (or, tolerated, those of a nested "stats").
        let body = (response["stats"] as? [String: Any]) ?? response
        var layers: [String: [String: Any]] = [:]
        for name in ["link", "arp", "ip", "icmp", "udp", "tcp"] {
            guard let layer = body[name] as? [String: Any] else {
                throw HarnessError("stats has no \(name) object: \(response)")
            }
            layers[name] = layer
        }
        self.layers = layers
    }

    /// The drops of one layer, by reason.
    func drops(_ layer: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for (k, v) in (layers[layer]?["drops"] as? [String: Any]) ?? [:] {
            out[k] = (v as? NSNumber)?.intValue ?? 0
        }
        return out
    }

    /// Every drop of one layer.
    func layerDrops(_ layer: String) -> Int { drops(layer).values.reduce(0, +) }

    /// Every drop of every layer.
    var totalDrops: Int { layers.keys.reduce(0) { $0 + layerDrops($1) } }

    /// A counter of a layer (0 when absent).
    func counter(_ layer: String, _ name: String) -> Int {
        (layers[layer]?[name] as? NSNumber)?.intValue ?? 0
    }

    /// The non-zero drops as `layer.reason=N`, for messages.
    var dropSummary: String {
        layers.keys.sorted().flatMap { l in
            drops(l).filter { $0.value != 0 }.sorted { $0.key < $1.key }.map { "\(l).\($0.key)=\($0.value)" }
        }.joined(separator: " ")
    }
}
