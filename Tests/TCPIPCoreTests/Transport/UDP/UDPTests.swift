import Testing

@testable import TCPIPCore

/// UDP (RFC 768, RFC 1122 §4.1.3) and its socket calls, on two stacks and with hand-built
/// datagrams from a peer.
@Suite struct UDPTests {
    @Test func exchangeBetweenTwoStacks() throws {
        var net = Hosts.pair()
        let log = WireLog()
        log.attach(to: &net)
        let server = net.udpSocket(on: 1, bind: 7)
        let client = net.udpSocket(on: 0, bind: 5000)
        #expect(server == 3 && client == 3, "descriptors start at 3")
        #expect(net.stacks[0].localAddress(client).value! == (IPv4Address.any, 5000))
        #expect(net.receive(on: 1, server).error == .EAGAIN)

        #expect(net.sendTo(on: 0, client, Array("ping".utf8), to: Hosts.bIP, port: 7).value == 4)
        net.settle()
        #expect(net.events(of: 1).contains { $0.descriptor == server })
        #expect(net.stacks[1].readiness(server) == [.readable, .writable])
        let d = try #require(net.receive(on: 1, server).value)
        #expect(d == ReceivedDatagram(address: Hosts.aIP, port: 5000, bytes: Array("ping".utf8)))

        let udp = try #require(log.decoded(from: 0).first { $0.udp != nil })
        #expect(udp.udp?.sourcePort == 5000 && udp.udp?.destinationPort == 7 && udp.udp?.length == 12)
        #expect(udp.udp?.checksum != 0, "we always compute the checksum")
        #expect(udp.ip?.protocol == IPProtocol.udp && udp.ip?.ttl == 64 && udp.ip?.dontFragment == false)

        #expect(net.sendTo(on: 1, server, Array("pong".utf8), to: d.address, port: d.port).value == 4)
        net.settle()
        #expect(net.receive(on: 0, client).value?.bytes == Array("pong".utf8))
        #expect(net.stacks[0].counters[.udpDatagramsOut] == 1 && net.stacks[0].counters[.udpDelivered] == 1)
        #expect(net.stacks[1].counters[.udpDatagramsIn] == 1 && net.stacks[1].counters[.udpDatagramsOut] == 1)
    }

    @Test func ephemeralPorts() {
        var h = Harness()
        let a = h.call { s, _ in s.socket(.dgram) }.value!
        #expect(h.call { s, _ in s.bind(a, port: 0) }.value != nil)
        let pa = h.stack.localAddress(a).value!.port
        #expect((32768...60999).contains(pa), "RFC 6056, Linux's ip_local_port_range")
        // sendto on an unbound socket binds it to an ephemeral port first.
        let b = h.call { s, _ in s.socket(.dgram) }.value!
        #expect(h.stack.localAddress(b).value!.port == 0)
        let data: [UInt8] = [1]
        _ = h.call { s, fx in data.withUnsafeBytes { s.sendTo(b, $0, address: Hosts.peerIP, port: 7, into: &fx) } }
        let pb = h.stack.localAddress(b).value!.port
        #expect((32768...60999).contains(pb) && pb != pa)
        #expect(h.call { s, _ in s.bind(b, port: 8000) }.error == .EINVAL, "already bound")
    }

    @Test func connectSetsTheDefaultPeerAndFiltersSenders() throws {
        var net = Hosts.pair()
        let server = net.udpSocket(on: 1, bind: 7)
        let client = net.udpSocket(on: 0)
        #expect(net.perform(on: 0) { s, fx in s.connect(client, address: Hosts.bIP, port: 7, into: &fx) }.value != nil)
        #expect(net.stacks[0].remoteAddress(client).value! == (Hosts.bIP, 7))
        let port = net.stacks[0].localAddress(client).value!.port
        #expect(port != 0, "connect binds an unbound socket")
        let data: [UInt8] = [42]
        #expect(net.perform(on: 0) { s, fx in data.withUnsafeBytes { s.send(client, $0, into: &fx) } }.value == 1)
        net.settle()
        #expect(net.receive(on: 1, server).value?.port == port)

        // A datagram from the peer's other port does not reach the connected socket.
        let other = net.udpSocket(on: 1, bind: 8)
        net.sendTo(on: 1, other, [1], to: Hosts.aIP, port: port)
        net.sendTo(on: 1, server, [2], to: Hosts.aIP, port: port)
        net.settle()
        #expect(net.receive(on: 0, client).value?.bytes == [2])
        #expect(net.receive(on: 0, client).error == .EAGAIN)
        #expect(net.stacks[0].counters[.udpNoPort] == 1)

        // send on an unconnected socket has no destination.
        let lone = net.udpSocket(on: 0)
        #expect(
            net.perform(on: 0) { s, fx in data.withUnsafeBytes { s.send(lone, $0, into: &fx) } }.error == .EDESTADDRREQ
        )
        #expect(net.stacks[0].remoteAddress(lone).error == .ENOTCONN)
    }

    @Test func zeroLengthDatagramsAreDatagrams() {
        var net = Hosts.pair()
        let server = net.udpSocket(on: 1, bind: 7)
        let client = net.udpSocket(on: 0)
        #expect(net.sendTo(on: 0, client, [], to: Hosts.bIP, port: 7).value == 0)
        net.settle()
        #expect(net.stacks[1].readiness(server)?.contains(.readable) == true)
        #expect(net.receive(on: 1, server).value?.bytes == [])
        #expect(net.receive(on: 1, server).error == .EAGAIN)
    }

    @Test func recvfromTruncatesToTheBufferAndDiscardsTheRest() {
        var h = Harness()
        let fd = h.call { s, _ in s.socket(.dgram) }.value!
        _ = h.call { s, _ in s.bind(fd, port: 9000) }
        h.receive(Build.fromPeer(Self.fromPeer(Build.pattern(100))))
        #expect(h.call { s, _ in s.receiveFrom(fd, max: 10) }.value?.bytes == Build.pattern(10))
        #expect(h.call { s, _ in s.receiveFrom(fd, max: 10) }.error == .EAGAIN)
    }

    static func fromPeer(_ data: [UInt8], port: UInt16 = 9000, checksum: Build.Checksum = .computed) -> [UInt8] {
        Build.ipv4(
            from: Hosts.peerIP,
            to: Hosts.aIP,
            protocol: IPProtocol.udp,
            Build.udp(from: Hosts.peerIP, 4000, to: Hosts.aIP, port, data, checksum: checksum)
        )
    }

    @Test func aZeroChecksumMeansNoneAndIsAccepted() {
        var h = Harness()
        let fd = h.call { s, _ in s.socket(.dgram) }.value!
        _ = h.call { s, _ in s.bind(fd, port: 9000) }
        h.receive(Build.fromPeer(Self.fromPeer([1, 2, 3], checksum: .zero)))
        #expect(h.call { s, _ in s.receiveFrom(fd, max: 100) }.value?.bytes == [1, 2, 3], "RFC 768")
    }

    @Test func aBadChecksumIsDroppedSilentlyAndCounted() {
        var h = Harness()
        h.learnPeer()
        let fd = h.call { s, _ in s.socket(.dgram) }.value!
        _ = h.call { s, _ in s.bind(fd, port: 9000) }
        h.receive(Build.fromPeer(Self.fromPeer([1, 2, 3], checksum: .corrupted)))
        // A bad checksum to a closed port earns no Port Unreachable either.
        h.receive(Build.fromPeer(Self.fromPeer([1, 2, 3], port: 9, checksum: .corrupted)))
        #expect(h.call { s, _ in s.receiveFrom(fd, max: 100) }.error == .EAGAIN)
        #expect(h.stack.counters[.udpBadChecksum] == 2, "RFC 1122 §4.1.3.4")
        #expect(h.takeSent().isEmpty)
    }

    @Test func aLengthFieldBeyondThePacketIsDropped() {
        var h = Harness()
        var udp = Build.udp(from: Hosts.peerIP, 4000, to: Hosts.aIP, 9000, [1, 2, 3])
        udp[5] = 200
        h.receive(Build.fromPeer(Build.ipv4(from: Hosts.peerIP, to: Hosts.aIP, protocol: IPProtocol.udp, udp)))
        #expect(h.stack.counters[.udpBadLength] == 1)
    }

    @Test func theReceiveQueueIsBoundedBySO_RCVBUF() {
        var h = Harness()
        let fd = h.call { s, _ in s.socket(.dgram) }.value!
        _ = h.call { s, _ in s.bind(fd, port: 9000) }
        _ = h.call { s, _ in s.setOption(fd, .soRcvBuf, 1000) }
        #expect(h.stack.option(fd, .soRcvBuf).value == 2304, "doubled, with Linux's floor")
        for i in 0..<3 { h.receive(Build.fromPeer(Self.fromPeer(Build.pattern(1000, seed: UInt8(i))))) }
        #expect(h.stack.counters[.udpReceiveQueueFull] == 1)
        #expect(h.stack.counters[.udpDelivered] == 2)
        #expect(h.stack.netstat().first?.receiveQueue == 2000)
        #expect(h.call { s, _ in s.receiveFrom(fd, max: 2000) }.value?.bytes == Build.pattern(1000, seed: 0))
        h.receive(Build.fromPeer(Self.fromPeer(Build.pattern(1000, seed: 9))))
        #expect(h.stack.counters[.udpDelivered] == 3, "room again after a read")
    }

    /// Empty datagrams cost no payload bytes, but the queue is bounded in datagrams too.
    @Test func aFloodOfEmptyDatagramsIsBounded() {
        var h = Harness()
        let fd = h.call { s, _ in s.socket(.dgram) }.value!
        _ = h.call { s, _ in s.bind(fd, port: 9000) }
        _ = h.call { s, _ in s.setOption(fd, .soRcvBuf, 1000) }
        for _ in 0..<100 { h.receive(Build.fromPeer(Self.fromPeer([]))) }
        #expect(h.stack.counters[.udpDelivered] == 36, "2304 / 64 datagrams")
        #expect(h.stack.counters[.udpReceiveQueueFull] == 64)
    }

    @Test func portUnreachableRefusesAConnectedSocketOnly() throws {
        var net = Hosts.pair()
        let log = WireLog()
        log.attach(to: &net)
        let connected = net.udpSocket(on: 0)
        _ = net.perform(on: 0) { s, fx in s.connect(connected, address: Hosts.bIP, port: 9, into: &fx) }
        let unconnected = net.udpSocket(on: 0)
        let data: [UInt8] = [1]

        net.sendTo(on: 0, unconnected, data, to: Hosts.bIP, port: 9)
        net.settle()
        #expect(net.stacks[1].counters[.icmpDestUnreachableOut] == 1)
        #expect(net.stacks[0].counters[.icmpErrorUnmatched] == 1)
        #expect(net.stacks[0].readiness(unconnected)?.contains(.error) == false, "Linux: no error without IP_RECVERR")
        #expect(net.sendTo(on: 0, unconnected, data, to: Hosts.bIP, port: 9).value == 1)
        net.settle()

        #expect(net.perform(on: 0) { s, fx in data.withUnsafeBytes { s.send(connected, $0, into: &fx) } }.value == 1)
        net.settle()
        let unreachable = log.decoded(from: 1).filter { $0.icmp != nil }
        #expect(unreachable.count == 3)
        #expect(unreachable.allSatisfy { $0.icmp?.code == ICMPv4UnreachableCode.port })
        #expect(net.stacks[0].counters[.icmpErrorsToSockets] == 1)
        #expect(net.events(of: 0).contains { $0.descriptor == connected })
        #expect(net.stacks[0].readiness(connected)?.contains(.error) == true)
        // Reported once, by the next call, as ECONNREFUSED (RFC 1122 §4.1.3.3).
        #expect(net.receive(on: 0, connected).error == .ECONNREFUSED)
        #expect(net.receive(on: 0, connected).error == .EAGAIN)
        #expect(net.perform(on: 0) { s, fx in data.withUnsafeBytes { s.send(connected, $0, into: &fx) } }.value == 1)
    }

    @Test func bindConflicts() {
        var h = Harness()
        func socket() -> Int32 { h.call { s, _ in s.socket(.dgram) }.value! }
        let a = socket()
        let b = socket()
        let c = socket()
        #expect(h.call { s, _ in s.bind(a, port: 7000) }.value != nil)
        #expect(h.call { s, _ in s.bind(b, port: 7000) }.error == .EADDRINUSE)
        #expect(
            h.call { s, _ in s.bind(b, address: Hosts.aIP, port: 7000) }.error == .EADDRINUSE,
            "overlaps the wildcard"
        )
        #expect(h.call { s, _ in s.bind(b, address: IPv4Address(10, 0, 0, 77), port: 7001) }.error == .EADDRNOTAVAIL)
        // SO_REUSEADDR on both sockets lets them share the port.
        _ = h.call { s, _ in s.setOption(a, .soReuseAddr, 1) }
        _ = h.call { s, _ in s.setOption(c, .soReuseAddr, 1) }
        #expect(h.call { s, _ in s.bind(c, port: 7000) }.value != nil)
        // Closing frees the port and the descriptor.
        _ = h.call { s, fx in s.close(a, into: &fx) }
        _ = h.call { s, fx in s.close(c, into: &fx) }
        #expect(h.call { s, _ in s.bind(b, port: 7000) }.value != nil)
        #expect(h.call { s, _ in s.socket(.dgram) }.value == a, "the lowest free descriptor")
        #expect(h.call { s, fx in s.close(99, into: &fx) }.error == .EBADF)
    }

    @Test func aDatagramTooLargeForIPIsEMSGSIZE() {
        var h = Harness()
        let fd = h.call { s, _ in s.socket(.dgram) }.value!
        _ = h.call { s, _ in s.setOption(fd, .soSndBuf, 100_000) }
        let big = [UInt8](repeating: 0, count: Stack.maxUDPPayload + 1)
        let r = h.call { s, fx in big.withUnsafeBytes { s.sendTo(fd, $0, address: Hosts.peerIP, port: 7, into: &fx) } }
        #expect(r.error == .EMSGSIZE)
        #expect(h.takeSent().isEmpty)
    }

    @Test func ethernetPaddingIsIgnored() {
        var h = Harness()
        let fd = h.call { s, _ in s.socket(.dgram) }.value!
        _ = h.call { s, _ in s.bind(fd, port: 9000) }
        // 14 + 20 + 8 + 2 = 44 bytes, padded to the 60-byte Ethernet minimum.
        var frame = Build.fromPeer(Self.fromPeer([0xAB, 0xCD]))
        frame += [UInt8](repeating: 0, count: 60 - frame.count)
        h.receive(frame)
        #expect(h.call { s, _ in s.receiveFrom(fd, max: 100) }.value?.bytes == [0xAB, 0xCD])
        #expect(h.stack.counters.totalDrops == 0)
    }

    @Test func aBroadcastReachesAWildcardSocket() {
        var h = Harness()
        let fd = h.call { s, _ in s.socket(.dgram) }.value!
        _ = h.call { s, _ in s.bind(fd, port: 9000) }
        for destination in [Hosts.subnetBroadcast, IPv4Address.broadcast] {
            let packet = Build.ipv4(
                from: Hosts.peerIP,
                to: destination,
                protocol: IPProtocol.udp,
                Build.udp(from: Hosts.peerIP, 4000, to: destination, 9000, [7])
            )
            h.receive(Build.ethernet(to: .broadcast, from: Hosts.peerMAC, type: EtherType.ipv4, packet))
        }
        #expect(h.call { s, _ in s.receiveFrom(fd, max: 100) }.value?.bytes == [7])
        #expect(h.call { s, _ in s.receiveFrom(fd, max: 100) }.value?.bytes == [7])
    }

    @Test func runningOutOfEphemeralPorts() {
        var c = Hosts.configuration()
        c.ephemeralPorts = 40000...40001
        var h = Harness(c)
        var fds: [Int32] = []
        for _ in 0..<3 { fds.append(h.call { s, _ in s.socket(.dgram) }.value!) }
        #expect(h.call { s, _ in s.bind(fds[0], port: 0) }.value != nil)
        #expect(h.call { s, _ in s.bind(fds[1], port: 0) }.value != nil)
        let ports = Set(fds[0...1].map { h.stack.localAddress($0).value!.port })
        #expect(ports == [40000, 40001])
        #expect(h.call { s, _ in s.bind(fds[2], port: 0) }.error == .EADDRINUSE)
        let data: [UInt8] = [1]
        let r = h.call { s, fx in
            data.withUnsafeBytes { s.sendTo(fds[2], $0, address: Hosts.peerIP, port: 7, into: &fx) }
        }
        #expect(r.error == .EAGAIN)
    }
}
