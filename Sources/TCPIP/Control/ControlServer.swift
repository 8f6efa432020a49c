import Foundation
import Synchronization
import TCPIPCore
import TCPIPDrivers

/// The control server of CONTROL-PROTOCOL.md: drives a host's stack for other programs over a
/// Unix stream socket, one JSON object per line each way.
///
/// One thread accepts clients; each client gets a thread of its own, so a call that blocks on
/// one connection (a `recv` waiting for a datagram) never delays another's. Descriptors belong
/// to the stack, not to a client: closing a control connection closes no socket.
///
/// Clients are untrusted input: the `limits` bound the length of a request line, the replies
/// held for a client that does not read them, and the number of clients; each is counted in
/// `stats` (section `control`, also `statistics`) and traced when it strikes.
///
/// ```swift
/// let server = try ControlServer(host: host, path: "/tmp/tcpip.sock")
/// server.start()
/// …
/// server.stop()   // before host.stop()
/// host.stop()
/// ```
public final class ControlServer: Sendable {
    /// The path of the Unix socket.
    public let path: String
    /// The bounds kept against misbehaving clients.
    public let limits: ControlLimits
    let calls: ControlCalls
    let counters: ControlCounters
    let trace: (@Sendable (ControlEvent) -> Void)?
    /// Clients taken on so far, to number them in trace lines (the acceptor thread's).
    let arrivals = Atomic<Int>(0)
    let listener: UnixStreamListener
    let wake: EventFD
    /// Open client connections, so `stop` can hang them up.
    let clients = Locked<[ObjectIdentifier: UnixStreamConnection]>([:])
    let acceptorDone = DispatchSemaphore(value: 0)
    let state = Locked<State>(.created)

    enum State { case created, running, stopped }

    /// Listens on `path` (a stale socket file there is removed first), keeping `limits`;
    /// `trace`, when given, is called from the server's threads for every `ControlEvent`.
    /// Fails when the path is too long, names a file that is not a socket, or cannot be bound.
    public init(
        host: Host,
        path: String,
        limits: ControlLimits = ControlLimits(),
        trace: (@Sendable (ControlEvent) -> Void)? = nil
    ) throws(DriverError) {
        self.path = path
        self.limits = limits
        self.trace = trace
        counters = ControlCounters()
        calls = ControlCalls(host: host, counters: counters)
        wake = try EventFD()
        listener = try UnixStreamListener(path: path, backlog: 128)
    }

    /// The server's counters now: what `stats` reports as the section `control`.
    public var statistics: ServiceStatistics { counters.statistics }

    /// Starts accepting clients.
    public func start() {
        let go = state.withLock { s in
            guard s == .created else { return false }
            s = .running
            return true
        }
        guard go else { return }
        let t = Thread { [self] in
            acceptClients()
            acceptorDone.signal()
        }
        t.name = "tcpip-control"
        t.start()
    }

    /// Stops accepting, removes the socket file and hangs up every client. A client's call
    /// already waiting on the host ends when it completes or its timeout passes, or when the
    /// host stops. Call it before `Host.stop()`.
    public func stop() {
        let previous = state.withLock { s in
            defer { s = .stopped }
            return s
        }
        switch previous {
        case .stopped: return
        case .created: listener.close()
        case .running:
            wake.signal()
            acceptorDone.wait()
        }
        clients.withLock { for c in $0.values { c.shutdown() } }
    }

    // MARK: - Threads

    func acceptClients() {
        var poller = Poller(fds: [listener.fd, wake.fd])
        while true {
            do {
                _ = try poller.wait(timeout: nil)
            } catch {
                break
            }
            if poller.isReadable(wake.fd) { break }
            // Take every pending client. On an error (e.g. EMFILE: no descriptor left) pause,
            // so a listener that stays readable does not spin.
            while true {
                let client: UnixStreamConnection?
                do {
                    client = try listener.accept()
                } catch {
                    Thread.sleep(forTimeInterval: 0.1)
                    break
                }
                guard let client else { break }
                serve(client)
            }
        }
        listener.close()
    }

    enum Admission { case accepted, full, stopped }

    func serve(_ socket: UnixStreamConnection) {
        let id = ObjectIdentifier(socket)
        let admission = state.withLock { s -> Admission in
            guard s == .running else { return .stopped }
            return clients.withLock { c in
                guard c.count < limits.maxClients else { return .full }
                c[id] = socket
                return .accepted
            }
        }
        switch admission {
        case .stopped: return socket.close()
        case .full: return refuse(socket)
        case .accepted: break
        }
        counters.clientsAccepted.wrappingAdd(1, ordering: .relaxed)
        counters.connected.wrappingAdd(1, ordering: .relaxed)
        let number = arrivals.add(1, ordering: .relaxed).newValue
        trace?(.clientConnected(client: number))
        let connection = ControlConnection(
            socket: socket,
            calls: calls,
            limits: limits,
            counters: counters,
            number: number,
            trace: trace
        )
        let t = Thread { [self] in
            connection.run()
            // Unregister before closing, so `stop` never shuts down a reused descriptor.
            _ = clients.withLock { $0.removeValue(forKey: id) }
            counters.connected.wrappingSubtract(1, ordering: .relaxed)
            socket.close()
            trace?(.clientClosed(client: number))
        }
        t.name = "tcpip-control-client"
        t.start()
    }

    /// One client too many: one `EUSERS` line, written without waiting, and hung up on (by the
    /// acceptor, so it costs no thread).
    func refuse(_ socket: UnixStreamConnection) {
        counters.tooManyClients.wrappingAdd(1, ordering: .relaxed)
        trace?(.clientRefused(limit: limits.maxClients))
        let e = Errno.EUSERS.with(
            "too many control clients: \(limits.maxClients) connected, the server's limit; try again later"
        )
        let line = Array((ControlConnection.failure(e) + "\n").utf8)
        _ = line.withUnsafeBytes { try? socket.sendAvailable($0) }
        socket.close()
    }
}

extension Errno {
    /// Linux's "too many users": the control server's answer to a client beyond its limit.
    static let EUSERS = Errno("EUSERS", 87, "too many users")
}
