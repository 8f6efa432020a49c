import Testing

@testable import TCPIPCore

/// The stack's caps on connections and on their buffer memory: past them a SYN is dropped
/// and counted (the client retries) and `connect` fails with ENOBUFS, as Linux does when it
/// cannot allocate a connection; freeing one makes room again.
@Suite struct TCPAdmissionTests {
    static let irs = TCPScenario.peerISN
    /// A stream socket's default send and receive buffers.
    static let perConnection = 2 * 256 * 1024

    @Test func theConnectionCapRefusesConnectAndDropsSYNsUntilOneCloses() {
        var sc = TCPScenario(tune: { $0.tcp.maxConnections = 2 })
        _ = sc.listen(backlog: 8)
        let a = sc.connect(port: 40000, localPort: 50000)
        _ = sc.connect(port: 40001, localPort: 50001)
        _ = sc.take()
        let fd = sc.socket()
        let r = sc.stack.connect(fd, address: TCPScenario.peerIP, port: 40002, into: &sc.effects)
        #expect(r.error == .ENOBUFS)
        sc.send(seq: Self.irs, [.syn], from: 41000)
        sc.expectNone()
        #expect(sc.stack.counters[.tcpConnectionLimit] == 2)
        // A connection that ends frees its place.
        sc.close(a)
        sc.send(seq: Self.irs, [.syn], from: 41000)
        sc.expectOne(ack: Self.irs + 1, flags: [.syn, .ack])
    }

    @Test func theMemoryCapCountsEachConnectionsBuffers() {
        var sc = TCPScenario(tune: { $0.tcp.maxConnectionMemory = 3 * Self.perConnection })
        _ = sc.listen(backlog: 8)
        for port: UInt16 in 41000..<41003 {
            sc.send(seq: Self.irs, [.syn], from: port)
            sc.expectOne(flags: [.syn, .ack])
        }
        #expect(sc.stack.tcp.committedBytes == 3 * Self.perConnection)
        sc.send(seq: Self.irs, [.syn], from: 41003)
        sc.expectNone()
        #expect(sc.stack.counters[.tcpMemoryLimit] == 1)
        let fd = sc.socket()
        let r = sc.stack.connect(fd, address: TCPScenario.peerIP, port: 40000, into: &sc.effects)
        #expect(r.error == .ENOBUFS)
        // A RST ends an embryo; its buffers are free again.
        sc.send(seq: Self.irs + 1, [.rst], from: 41000)
        #expect(sc.stack.tcp.committedBytes == 2 * Self.perConnection)
        sc.send(seq: Self.irs, [.syn], from: 41003)
        sc.expectOne(flags: [.syn, .ack])
    }
}
