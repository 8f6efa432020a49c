import Foundation
import Testing

/// The layering rules of docs/ARCHITECTURE.md, checked on the core's source: a layer's state
/// is reached only through that layer's methods, and only by the stack's wiring (`Stack.swift`
/// and the `Stack+…` file of the layer); the link and network layers never name a transport's
/// or the socket table's state; no core file grows past 450 lines. The compiler enforces the
/// rest (`private(set)` state in `LinkLayer` and `IPv4Layer`).
@Suite struct LayeringTests {
    struct SourceFile {
        var path: String
        var lines: [String]
    }

    static let coreFiles: [SourceFile] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources/TCPIPCore")
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: root.path) else { return [] }
        var files: [SourceFile] = []
        while let next = walker.nextObject() as? String {
            guard next.hasSuffix(".swift"),
                let text = try? String(contentsOfFile: root.appendingPathComponent(next).path, encoding: .utf8)
            else { continue }
            // Code only: doc comments and comments may name anything.
            let code = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//") }
            files.append(SourceFile(path: next, lines: code))
        }
        return files.sorted { $0.path < $1.path }
    }()

    /// Lines of `file` that match `pattern`.
    static func uses(_ pattern: String, in file: SourceFile) -> [String] {
        file.lines.filter { $0.range(of: pattern, options: .regularExpression) != nil }
    }

    @Test func theSourcesAreFound() {
        #expect(Self.coreFiles.count > 40)
        #expect(Self.coreFiles.contains { $0.path == "Link/LinkLayer.swift" })
    }

    @Test func noCoreFileIsOver450Lines() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources/TCPIPCore")
        for f in Self.coreFiles {
            let text = try String(contentsOfFile: root.appendingPathComponent(f.path).path, encoding: .utf8)
            let count = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
            #expect(count <= 450, "\(f.path) has \(count) lines")
        }
    }

    /// Only the wiring holds the layers: the link layer is reached from `Stack.swift` and the
    /// IPv4 wiring, and inside the network layer only through its one downward call.
    @Test func theLinkLayerIsReachedOnlyThroughItsInterface() {
        let wiring: Set = ["Stack.swift", "Network/Stack+IPv4.swift"]
        for f in Self.coreFiles where !f.path.hasPrefix("Link/") {
            let hits = Self.uses(#"\blink\."#, in: f)
            if f.path.hasPrefix("Network/IPv4Layer") {
                let other = hits.filter { !$0.contains("link.outputIPv4(") }
                #expect(other.isEmpty, "\(f.path) reaches into the link layer: \(other)")
            } else if !wiring.contains(f.path) {
                #expect(hits.isEmpty, "\(f.path) reaches into the link layer: \(hits)")
            }
            #expect(Self.uses(#"\bneighbors\b"#, in: f).isEmpty, "\(f.path) touches the neighbour cache")
        }
    }

    @Test func theNetworkLayerIsReachedOnlyByTheWiring() {
        let wiring: Set = ["Stack.swift", "Network/Stack+IPv4.swift"]
        for f in Self.coreFiles where !f.path.hasPrefix("Network/IPv4Layer") && !wiring.contains(f.path) {
            let hits = Self.uses(#"\bipv4\."#, in: f)
            #expect(hits.isEmpty, "\(f.path) reaches into the IPv4 layer: \(hits)")
            #expect(Self.uses(#"\breassembly\."#, in: f).isEmpty, "\(f.path) touches reassembly")
        }
    }

    /// The socket layer dispatches each call to its socket's transport and holds no
    /// transport state: it opens and closes endpoints, and asks the transport for the rest.
    @Test func theSocketLayerHoldsNoTransportState() {
        for f in Self.coreFiles where f.path.hasPrefix("Sockets/") {
            for pattern in [
                #"\btcp\.(slots|endpoints|bound|byTuple|timers)"#,
                #"\budp\[|\budp\.(modify|dequeue|enqueue|endpoints|ports|bind)"#,
                #"TCPConnection"#,
            ] {
                let hits = Self.uses(pattern, in: f)
                #expect(hits.isEmpty, "\(f.path) reaches into a transport (\(pattern)): \(hits)")
            }
        }
    }

    /// Each transport's state is touched only by that transport's files (the socket layer may
    /// open and close a datagram endpoint).
    @Test func eachTransportsStateIsItsOwn() {
        for f in Self.coreFiles where !f.path.hasPrefix("Transport/TCP/") {
            let hits = Self.uses(#"\btcp\.[a-z]"#, in: f).filter { !$0.contains("configuration.tcp.") }
            #expect(hits.isEmpty, "\(f.path) touches TCP's state: \(hits)")
        }
        for f in Self.coreFiles where !f.path.hasPrefix("Transport/UDP/") {
            let hits = Self.uses(#"\budp(\.|\[)"#, in: f).filter {
                !$0.contains("udp.open(") && !$0.contains("udp.close(")
            }
            #expect(hits.isEmpty, "\(f.path) touches UDP's state: \(hits)")
        }
    }

    /// The transports keep to themselves: TCP never names UDP's endpoints, nor UDP TCP's
    /// connections.
    @Test func theTransportsDoNotReachIntoEachOther() {
        for f in Self.coreFiles where f.path.hasPrefix("Transport/TCP/") {
            let hits = Self.uses(#"\budp(\.|\[)"#, in: f)
            #expect(hits.isEmpty, "\(f.path) reaches into UDP: \(hits)")
        }
        for f in Self.coreFiles where f.path.hasPrefix("Transport/UDP/") {
            let hits = Self.uses(#"\btcp\."#, in: f)
            #expect(hits.isEmpty, "\(f.path) reaches into TCP: \(hits)")
        }
    }

    /// Below the transports nothing names a socket, a connection or a binding: failures go up
    /// by owner identity (`PacketOwner`) and ICMP errors as `TransportError`.
    @Test func theLowerLayersNeverNameTransportOrSocketState() {
        for f in Self.coreFiles
        where f.path.hasPrefix("Link/") || f.path.hasPrefix("Network/IPv4Layer")
            || f.path == "Network/Reassembly.swift"
        {
            for pattern in [#"\bsockets\b"#, #"\btcp\."#, #"\budp\."#, #"TCPConnection"#, #"\bfd\b"#] {
                let hits = Self.uses(pattern, in: f)
                #expect(hits.isEmpty, "\(f.path) names transport or socket state (\(pattern)): \(hits)")
            }
        }
    }
}
