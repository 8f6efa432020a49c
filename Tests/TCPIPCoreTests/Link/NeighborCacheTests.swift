import Testing

@testable import TCPIPCore

/// ARP (RFC 826) and the neighbour cache rules of RFC 1122 §2.3.2, driven with hand-built
/// frames from a peer P (10.0.0.9) into stack A (10.0.0.1).
@Suite struct NeighborCacheTests {
    static let second: Int64 = 1_000_000_000

    /// A with one UDP socket bound to port 5000.
    static func harness(tune: (inout StackConfiguration) -> Void = { _ in }) -> (Harness, Int32) {
        var c = Hosts.configuration()
        tune(&c)
        var h = Harness(c)
        let fd = h.call { s, _ in s.socket(.dgram) }.value!
        #expect(h.call { s, _ in s.bind(fd, port: 5000) }.value != nil)
        return (h, fd)
    }

    static func send(
        _ h: inout Harness,
        _ fd: Int32,
        _ data: [UInt8],
        to ip: IPv4Address = Hosts.peerIP
    ) -> Result<
        Int, Errno
    > {
        h.call { s, fx in data.withUnsafeBytes { s.sendTo(fd, $0, address: ip, port: 7, into: &fx) } }
    }

    static let peerReply = Build.arp(
        ARPOperation.reply,
        senderMAC: Hosts.peerMAC,
        senderIP: Hosts.peerIP,
        targetMAC: Hosts.aMAC,
        targetIP: Hosts.aIP
    )

    @Test func firstDatagramWaitsForTheReplyToABroadcastRequest() throws {
        var (h, fd) = Self.harness()
        #expect(Self.send(&h, fd, [1, 2, 3]).value == 3)
        let out = h.takeSent()
        try #require(out.count == 1)
        let req = try #require(Decoded(out[0]))
        #expect(req.ethernet.destination == .broadcast && req.ethernet.source == Hosts.aMAC)
        #expect(req.ethernet.etherType == EtherType.arp)
        #expect(
            req.arp
                == ARPPacket(
                    operation: ARPOperation.request,
                    senderMAC: Hosts.aMAC,
                    senderIP: Hosts.aIP,
                    targetMAC: .zero,
                    targetIP: Hosts.peerIP
                )
        )
        #expect(h.stack.counters[.arpQueued] == 1 && h.stack.counters[.arpRequestsOut] == 1)
        #expect(h.stack.neighbor(Hosts.peerIP) == nil)

        h.advance(by: 2_000_000)
        h.receive(Self.peerReply)
        #expect(h.stack.neighbor(Hosts.peerIP) == Hosts.peerMAC)
        #expect(h.stack.counters[.arpEntriesCreated] == 1 && h.stack.counters[.arpRepliesIn] == 1)
        #expect(h.stack.counters[.arpEntriesUpdated] == 0)
        let sent = h.takeSent().compactMap(Decoded.init)
        try #require(sent.count == 1)
        #expect(sent[0].ethernet.destination == Hosts.peerMAC)
        #expect(sent[0].udp?.destinationPort == 7 && sent[0].payload == [1, 2, 3])

        // Resolved: the next datagram goes straight out.
        _ = Self.send(&h, fd, [4])
        let direct = h.takeSent().compactMap(Decoded.init)
        #expect(direct.count == 1 && direct.first?.payload == [4])
        #expect(h.stack.counters[.arpRequestsOut] == 1)
    }

    @Test func datagramsQueuedBeforeTheReplyAllGoOutInOrder() {
        var (h, fd) = Self.harness()
        for i in 1...5 { _ = Self.send(&h, fd, [UInt8(i)]) }
        #expect(h.takeSent().count == 1, "one request, however many datagrams wait")
        #expect(h.stack.counters[.arpQueued] == 5)
        h.receive(Self.peerReply)
        let out = h.takeSent().compactMap(Decoded.init)
        #expect(out.map(\.payload) == [[1], [2], [3], [4], [5]])
        #expect(out.allSatisfy { $0.ethernet.destination == Hosts.peerMAC })
        #expect(h.stack.counters.totalDrops == 0)
    }

    @Test func aFullPendingQueueDropsTheOldest() {
        var (h, fd) = Self.harness { $0.arpPendingPackets = 3 }
        for i in 1...5 { _ = Self.send(&h, fd, [UInt8(i)]) }
        #expect(h.stack.counters[.arpPendingQueueFull] == 2)
        #expect(h.takeSent().count == 1)
        h.receive(Self.peerReply)
        #expect(h.takeSent().compactMap(Decoded.init).map(\.payload) == [[3], [4], [5]])
    }

    @Test func thePendingQueueIsAlsoBoundedInBytes() {
        var (h, fd) = Self.harness { $0.arpPendingBytes = 2500 }
        for i in 1...3 { _ = Self.send(&h, fd, Build.pattern(1000, seed: UInt8(i))) }
        // Each queued IP datagram is 1028 bytes: the third pushes out the first.
        #expect(h.stack.counters[.arpPendingQueueFull] == 1)
        #expect(h.takeSent().count == 1)
        h.receive(Self.peerReply)
        #expect(h.takeSent().compactMap(Decoded.init).map { $0.payload.first } == [2, 3])
    }

    @Test func requestsGoOutAtMostOncePerSecond() {
        var (h, fd) = Self.harness { $0.arpMaxRequests = 5 }
        _ = Self.send(&h, fd, [1])
        #expect(h.takeSent().count == 1)
        h.advance(to: Instant(nanoseconds: Self.second / 2))
        _ = Self.send(&h, fd, [2])
        #expect(h.takeSent().isEmpty, "no second request within the second (RFC 1122 §2.3.2.1)")
        h.advance(to: Instant(nanoseconds: Self.second - 1))
        #expect(h.takeSent().isEmpty)
        h.advance(to: Instant(nanoseconds: Self.second))
        let retry = h.takeSent().compactMap(Decoded.init)
        #expect(retry.count == 1 && retry.first?.isARPRequest == true)
        #expect(retry.first?.ethernet.destination == .broadcast)
        h.advance(to: Instant(nanoseconds: 3 * Self.second))
        #expect(h.stack.counters[.arpRequestsOut] == 4)
    }

    @Test func afterTheLastRequestTheQueueIsDroppedAndAConnectedSocketToldEHOSTUNREACH() throws {
        var (h, fd) = Self.harness()  // arpMaxRequests = 3
        #expect(h.call { s, fx in s.connect(fd, address: Hosts.peerIP, port: 7, into: &fx) }.value != nil)
        _ = Self.send(&h, fd, [1])
        _ = Self.send(&h, fd, [2])
        var requestTimes: [Int64] = []
        for ms in stride(from: Int64(0), through: 5000, by: 100) {
            h.advance(to: Instant(nanoseconds: ms * 1_000_000))
            for f in h.takeSent() where Decoded(f)?.isARPRequest == true { requestTimes.append(ms) }
        }
        #expect(requestTimes == [0, 1000, 2000])
        #expect(h.stack.counters[.arpResolutionFailed] == 2)
        #expect(h.events.contains { $0.descriptor == fd })
        #expect(h.stack.readiness(fd)?.contains(.error) == true)
        #expect(h.stack.option(fd, .soError).value == 113)
        // The pending error is reported once, by the next call.
        #expect(Self.send(&h, fd, [3]).error == .EHOSTUNREACH)
        #expect(h.stack.readiness(fd)?.contains(.error) == false)
        // And the next send starts a fresh resolution.
        #expect(Self.send(&h, fd, [3]).value == 1)
        #expect(h.takeSent().compactMap(Decoded.init).first?.isARPRequest == true)
    }

    /// A full cache evicts its stalest entry, never refuses the newest (issue 7: a flood may
    /// cost old entries, not the next neighbour). An evicted entry's queued datagrams are
    /// dropped and their owners told: here a SYN waiting to resolve, whose connect then fails
    /// with EHOSTUNREACH once the connection is back in its slot.
    @Test func aFullCacheEvictsTheStalestEntryAndTellsItsOwners() throws {
        var (h, fd) = Self.harness { $0.arpMaxEntries = 1 }
        _ = Self.send(&h, fd, [1], to: IPv4Address(10, 0, 0, 50))  // takes the one entry
        let s = h.call { s, _ in s.socket(.stream) }.value!
        let r = h.call { st, fx in st.connect(s, address: IPv4Address(10, 0, 0, 60), port: 80, into: &fx) }
        #expect(r.error == nil)
        // The UDP datagram's entry made room; the SYN now waits for 10.0.0.60.
        #expect(h.stack.counters[.arpEvictions] == 1)
        #expect(h.stack.tcpInfo(s).value??.state == .synSent)
        // A datagram to a third address evicts the SYN's entry: the connect fails.
        _ = Self.send(&h, fd, [2], to: IPv4Address(10, 0, 0, 70))
        #expect(h.stack.counters[.arpEvictions] == 2)
        #expect(h.stack.tcpInfo(s).value??.state == .closed)
        #expect(h.call { st, _ in st.takeError(s) }.value == .EHOSTUNREACH)
        // And the newest entry resolves as usual.
        h.receive(
            Build.arp(
                ARPOperation.reply,
                senderMAC: Hosts.peerMAC,
                senderIP: IPv4Address(10, 0, 0, 70),
                targetMAC: Hosts.aMAC,
                targetIP: Hosts.aIP
            )
        )
        #expect(h.stack.neighbor(IPv4Address(10, 0, 0, 70)) == Hosts.peerMAC)
    }

    /// RFC 1122 §4.1.3.3 leaves asynchronous errors on unconnected UDP sockets to the
    /// application; Linux without IP_RECVERR reports none (udp_err), and nor does the stack.
    @Test func anUnconnectedSocketHearsNothingWhenResolutionFails() throws {
        var (h, fd) = Self.harness()
        _ = Self.send(&h, fd, [1])
        h.advance(to: Instant(nanoseconds: 5 * Self.second))
        #expect(h.stack.counters[.arpResolutionFailed] == 1)
        #expect(h.stack.readiness(fd)?.contains(.error) == false)
        #expect(h.stack.option(fd, .soError).value == 0)
        #expect(Self.send(&h, fd, [2], to: Hosts.peerIP).error == nil)
    }

    /// A failure belongs to the flow the datagram was sent in: a socket that sent unconnected
    /// to a silent neighbour and then connected elsewhere hears nothing of it (Linux's udp_err
    /// matches the quoted 4-tuple).
    @Test func aFailureOfAnotherFlowIsNotReportedToAConnectedSocket() throws {
        var (h, fd) = Self.harness()
        _ = Self.send(&h, fd, [1], to: IPv4Address(10, 0, 0, 50))
        #expect(h.call { s, fx in s.connect(fd, address: Hosts.peerIP, port: 7, into: &fx) }.value != nil)
        h.advance(to: Instant(nanoseconds: 5 * Self.second))
        #expect(h.stack.counters[.arpResolutionFailed] >= 1)
        #expect(h.stack.option(fd, .soError).value == 0)
    }

    /// A pending failure belongs to the socket, not to its descriptor: a socket closed while
    /// its datagram waited for ARP passes nothing on to the next socket given that number.
    @Test func aClosedSocketsFailureNeverReachesTheSocketReusingItsDescriptor() throws {
        var (h, fd) = Self.harness()
        #expect(h.call { s, fx in s.connect(fd, address: Hosts.peerIP, port: 7, into: &fx) }.value != nil)
        _ = Self.send(&h, fd, [1])
        #expect(h.call { s, fx in s.close(fd, into: &fx) }.value != nil)
        let reused = h.call { s, _ in s.socket(.dgram) }.value!
        #expect(reused == fd)
        #expect(h.call { s, fx in s.connect(reused, address: Hosts.peerIP, port: 9, into: &fx) }.value != nil)
        h.events.removeAll()
        h.advance(to: Instant(nanoseconds: 5 * Self.second))
        #expect(h.stack.counters[.arpResolutionFailed] == 1)
        #expect(!h.events.contains(.changed(h.stack.socketID(reused)!)))
        #expect(h.stack.option(reused, .soError).value == 0)
        #expect(h.call { s, _ in s.receiveFrom(reused, max: 100) }.error == .EAGAIN)
    }

    @Test func offLinkDestinationsResolveTheGateway() throws {
        var (noRoute, fd0) = Self.harness()
        #expect(Self.send(&noRoute, fd0, [1], to: IPv4Address(192, 0, 2, 1)).error == .ENETUNREACH)
        #expect(noRoute.takeSent().isEmpty)

        let gateway = IPv4Address(10, 0, 0, 254)
        var (h, fd) = Self.harness { $0.gateway = gateway }
        #expect(Self.send(&h, fd, [1], to: IPv4Address(192, 0, 2, 1)).value == 1)
        let request = try #require(h.takeSent().compactMap(Decoded.init).first)
        #expect(request.arp?.targetIP == gateway, "RFC 1122 §3.3.1: the next hop is the gateway")
        h.receive(
            Build.arp(
                ARPOperation.reply,
                senderMAC: Hosts.peerMAC,
                senderIP: gateway,
                targetMAC: Hosts.aMAC,
                targetIP: Hosts.aIP
            )
        )
        let out = try #require(h.takeSent().compactMap(Decoded.init).first)
        #expect(out.ethernet.destination == Hosts.peerMAC && out.ip?.destination == IPv4Address(192, 0, 2, 1))
    }

    @Test func aPingToAnUnresolvableAddressFails() {
        var h = Harness()
        let payload: [UInt8] = [9, 9]
        _ = h.call { s, fx in
            payload.withUnsafeBytes {
                s.sendEchoRequest(to: Hosts.peerIP, identifier: 7, sequence: 1, payload: $0, into: &fx)
            }
        }
        h.advance(to: Instant(nanoseconds: 3 * Self.second))
        #expect(h.events == [.echoFailed(identifier: 7, sequence: 1, error: .EHOSTUNREACH)])
    }

    @Test func aRequestForOurAddressIsAnsweredAndTeachesUsTheSender() throws {
        var h = Harness()
        h.receive(
            Build.arp(ARPOperation.request, senderMAC: Hosts.peerMAC, senderIP: Hosts.peerIP, targetIP: Hosts.aIP)
        )
        let out = h.takeSent()
        try #require(out.count == 1)
        let reply = try #require(Decoded(out[0]))
        #expect(reply.ethernet.destination == Hosts.peerMAC && reply.ethernet.source == Hosts.aMAC)
        #expect(
            reply.arp
                == ARPPacket(
                    operation: ARPOperation.reply,
                    senderMAC: Hosts.aMAC,
                    senderIP: Hosts.aIP,
                    targetMAC: Hosts.peerMAC,
                    targetIP: Hosts.peerIP
                )
        )
        #expect(h.stack.neighbor(Hosts.peerIP) == Hosts.peerMAC)
        #expect(h.stack.counters[.arpRequestsIn] == 1 && h.stack.counters[.arpRepliesOut] == 1)
        #expect(h.stack.counters[.arpEntriesCreated] == 1)
    }

    @Test func aRequestForAnotherAddressFromAStrangerIsIgnored() {
        var h = Harness()
        h.receive(
            Build.arp(
                ARPOperation.request,
                senderMAC: Hosts.peerMAC,
                senderIP: Hosts.peerIP,
                targetIP: IPv4Address(10, 0, 0, 50)
            )
        )
        #expect(h.takeSent().isEmpty)
        #expect(h.stack.neighbor(Hosts.peerIP) == nil)
        #expect(h.stack.counters[.arpNotForUs] == 1)
    }

    @Test func aKnownSenderIsMergedEvenWhenTheRequestIsNotForUs() {
        var h = Harness()
        h.learnPeer()
        let moved = MACAddress(0x02, 0, 0, 0, 0, 0x77)
        h.receive(
            Build.arp(
                ARPOperation.request,
                senderMAC: moved,
                senderIP: Hosts.peerIP,
                targetIP: IPv4Address(10, 0, 0, 50)
            )
        )
        #expect(h.takeSent().isEmpty, "not for us: no reply")
        #expect(h.stack.neighbor(Hosts.peerIP) == moved, "RFC 826: update the sender's entry (Merge_flag)")
        #expect(h.stack.counters[.arpEntriesUpdated] == 1)
        #expect(h.stack.counters[.arpNotForUs] == 0)
    }

    @Test func anUnsolicitedReplyCreatesNoEntry() {
        var (h, fd) = Self.harness()
        h.receive(Self.peerReply)
        #expect(h.stack.neighbor(Hosts.peerIP) == nil)
        #expect(h.stack.counters[.arpUnsolicitedReply] == 1)
        #expect(h.stack.counters[.arpEntriesCreated] == 0)
        _ = Self.send(&h, fd, [1])
        #expect(h.takeSent().compactMap(Decoded.init).first?.isARPRequest == true, "still unresolved")
    }

    @Test func bogusSendersAreRejected() {
        var h = Harness()
        // Our own address claimed by someone else, and a group MAC as sender.
        h.receive(Build.arp(ARPOperation.request, senderMAC: Hosts.peerMAC, senderIP: Hosts.aIP, targetIP: Hosts.aIP))
        h.receive(
            Build.arp(
                ARPOperation.request,
                senderMAC: MACAddress(0x01, 0, 0x5E, 0, 0, 1),
                senderIP: Hosts.peerIP,
                targetIP: Hosts.aIP
            )
        )
        #expect(h.takeSent().isEmpty)
        #expect(h.stack.counters[.arpBadSender] == 2)
        #expect(h.stack.neighbor(Hosts.peerIP) == nil)
    }

    @Test func aStaleEntryIsStillUsedAndRevalidatedByUnicast() throws {
        var (h, fd) = Self.harness()
        h.learnPeer()  // t = 0: trusted until 60 s
        h.advance(to: Instant(nanoseconds: 59 * Self.second))
        _ = Self.send(&h, fd, [1])
        #expect(h.takeSent().compactMap(Decoded.init).map { $0.arp == nil } == [true], "fresh: no request")

        h.advance(to: Instant(nanoseconds: 61 * Self.second))
        _ = Self.send(&h, fd, [2])
        let out = h.takeSent().compactMap(Decoded.init)
        try #require(out.count == 2)
        #expect(out[0].payload == [2] && out[0].ethernet.destination == Hosts.peerMAC, "the stale mapping is used")
        #expect(out[1].isARPRequest && out[1].ethernet.destination == Hosts.peerMAC, "unicast poll")
        #expect(out[1].arp?.targetIP == Hosts.peerIP)

        // The peer answers: the entry is trusted for another 60 s, no more requests.
        h.advance(by: 1_000_000)
        h.receive(Self.peerReply)
        #expect(h.stack.counters[.arpEntriesUpdated] == 1)
        h.advance(to: Instant(nanoseconds: 100 * Self.second))
        #expect(h.takeSent().isEmpty)
        _ = Self.send(&h, fd, [3])
        #expect(h.takeSent().count == 1)
    }

    @Test func aStaleEntryThatNobodyConfirmsIsForgotten() {
        var (h, fd) = Self.harness()
        h.learnPeer()
        h.advance(to: Instant(nanoseconds: 61 * Self.second))
        _ = Self.send(&h, fd, [1])
        _ = h.takeSent()
        h.advance(to: Instant(nanoseconds: 63 * Self.second))
        #expect(
            h.takeSent().compactMap(Decoded.init).map { $0.ethernet.destination } == [Hosts.peerMAC, Hosts.peerMAC]
        )
        #expect(h.stack.neighbor(Hosts.peerIP) == Hosts.peerMAC)
        h.advance(to: Instant(nanoseconds: 64 * Self.second))
        #expect(h.stack.neighbor(Hosts.peerIP) == nil)
        // Nothing was waiting, so nobody is told.
        #expect(h.stack.readiness(fd)?.contains(.error) == false)
        _ = Self.send(&h, fd, [2])
        #expect(h.takeSent().compactMap(Decoded.init).first?.ethernet.destination == .broadcast)
    }

    @Test func anUnusedEntryAgesOut() {
        var h = Harness()
        h.learnPeer()
        #expect(h.stack.nextDeadline() == Instant(nanoseconds: 120 * Self.second))
        h.advance(to: Instant(nanoseconds: 120 * Self.second - 1))
        #expect(h.stack.neighbor(Hosts.peerIP) == Hosts.peerMAC)
        h.advance(to: Instant(nanoseconds: 120 * Self.second))
        #expect(h.stack.neighbor(Hosts.peerIP) == nil)
        #expect(h.stack.counters[.arpEntriesExpired] == 1)
        #expect(h.stack.nextDeadline() == nil)
        #expect(h.takeSent().isEmpty, "an unused entry is not re-validated")
    }

    @Test func twoStacksResolveEachOtherOnTheWire() throws {
        var net = Hosts.pair()
        let log = WireLog()
        log.attach(to: &net)
        let server = net.udpSocket(on: 1, bind: 7)
        let client = net.udpSocket(on: 0)
        #expect(net.sendTo(on: 0, client, [0x68, 0x69], to: Hosts.bIP, port: 7).value == 2)
        net.settle()
        let frames = log.decoded()
        try #require(frames.count == 3)
        #expect(frames[0].isARPRequest && frames[0].arp?.targetIP == Hosts.bIP)
        #expect(frames[1].isARPReply && frames[1].arp?.senderMAC == Hosts.bMAC)
        #expect(frames[2].udp?.destinationPort == 7 && frames[2].ethernet.destination == Hosts.bMAC)
        #expect(log.entries.map(\.from) == [0, 1, 0])
        // B learned A from A's request; A learned B from the reply.
        #expect(net.stacks[0].neighbor(Hosts.bIP) == Hosts.bMAC)
        #expect(net.stacks[1].neighbor(Hosts.aIP) == Hosts.aMAC)
        #expect(net.receive(on: 1, server).value?.bytes == [0x68, 0x69])
        // Answering needs no ARP at all now.
        #expect(
            net.sendTo(on: 1, server, [1], to: Hosts.aIP, port: net.stacks[0].localAddress(client).value!.port).value
                == 1
        )
        net.settle()
        #expect(log.entries.count == 4)
        #expect(net.receive(on: 0, client).value?.bytes == [1])
    }
}
