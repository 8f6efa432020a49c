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
    let calls: ControlCalls
    let listener: UnixStreamListener
    let wake: EventFD
    /// Open client connections, so `stop` can hang them up.
    let clients = Mutex<[ObjectIdentifier: UnixStreamConnection]>([:])
    let acceptorDone = DispatchSemaphore(value: 0)
    let state = Mutex<State>(.created)

    enum State { case created, running, stopped }

    /// Listens on `path` (a stale socket file there is removed first). Fails when the path is
    /// too long, names a file that is not a socket, or cannot be bound.
    public init(host: Host, path: String) throws(DriverError) {
        self.path = path
        calls = ControlCalls(host: host)
        wake = try EventFD()
        listener = try UnixStreamListener(path: path)
    }

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

    func serve(_ socket: UnixStreamConnection) {
        let id = ObjectIdentifier(socket)
        let accepted = state.withLock { s in
            guard s == .running else { return false }
            clients.withLock { $0[id] = socket }
            return true
        }
        guard accepted else { return socket.close() }
        let connection = ControlConnection(socket: socket, calls: calls)
        let t = Thread { [self] in
            connection.run()
            // Unregister before closing, so `stop` never shuts down a reused descriptor.
            _ = clients.withLock { $0.removeValue(forKey: id) }
            socket.close()
        }
        t.name = "tcpip-control-client"
        t.start()
    }
}
