import Foundation
import Testing

@testable import TCPIP
@testable import TCPIPCore

/// `DatagramSocket`'s blocking calls between two hosts over the in-memory device pair.
@Suite(.timeLimit(.minutes(1)))
struct DatagramSocketTests {
    @Test func sendToReachesRecvFromOnTheOtherHost() async throws {
        try await HostPair.with { pair in
            let server = try DatagramSocket(host: pair.b)
            try server.bind(port: 9000)
            let got = Blocking.start { try server.receiveFrom(timeout: .seconds(5)) }
            let client = try DatagramSocket(host: pair.a)
            try client.bind(port: 9001)
            #expect(try client.sendTo(Array("hello".utf8), address: HostPair.addressB, port: 9000) == 5)
            let datagram = try await got.value
            #expect(datagram.bytes == Array("hello".utf8))
            #expect(datagram.address == HostPair.addressA)
            #expect(datagram.port == 9001)
            // And back: the reply to the sender's address.
            let reply = Blocking.start { try client.receiveFrom(timeout: .seconds(5)) }
            try server.sendTo(Array("world".utf8), address: datagram.address, port: datagram.port)
            #expect(try await reply.value.bytes == Array("world".utf8))
            try client.close()
            try server.close()
        }
    }

    @Test func largeDatagramsAreFragmentedAndReassembled() async throws {
        try await HostPair.with { pair in
            let server = try DatagramSocket(host: pair.b)
            try server.bind(port: 9000)
            let payload = (0..<8000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let got = Blocking.start { try server.receiveFrom(timeout: .seconds(5)) }
            let client = try DatagramSocket(host: pair.a)
            try client.sendTo(payload, address: HostPair.addressB, port: 9000)
            #expect(try await got.value.bytes == payload)
        }
    }

    @Test func recvFromWithATimeoutFailsWithEAGAINAfterAboutThatTime() async throws {
        try await HostPair.with { pair in
            let socket = try DatagramSocket(host: pair.a)
            try socket.bind(port: 9002)
            let (outcome, took) = try await Blocking.timed { () -> Errno? in
                do throws(Errno) {
                    _ = try socket.receiveFrom(timeout: .milliseconds(200))
                    return nil
                } catch {
                    return error
                }
            }
            #expect(outcome == .EAGAIN)
            #expect(took >= 0.19, "returned after \(took) s, before its timeout")
            #expect(took < 2, "returned after \(took) s")
            // Zero: one try, no wait.
            #expect(throws: Errno.EAGAIN) { try socket.receiveFrom(timeout: .zero) }
        }
    }

    @Test func aClosedDescriptorFailsWithEBADF() async throws {
        try await HostPair.with { pair in
            let socket = try DatagramSocket(host: pair.a)
            try socket.close()
            #expect(throws: Errno.EBADF) { try socket.close() }
        }
    }

    /// The socket-identity rule: a closed socket's pending error never reaches the socket that
    /// reuses its descriptor. A sends to an address nobody answers ARP for and closes the socket
    /// at once; a new socket gets the same descriptor and waits for a datagram from B, which
    /// comes after ARP gave up on the first socket's datagram. It must get the datagram, never
    /// the first socket's `EHOSTUNREACH`.
    @Test func aClosedSocketsARPFailureNeverReachesTheSocketReusingItsDescriptor() async throws {
        try await HostPair.with(shortARP: true) { pair in
            try await pair.resolveNeighbors()
            do {
                let first = try DatagramSocket(host: pair.a)
                try first.sendTo(Array("lost".utf8), address: HostPair.silentAddress, port: 9)
                try first.close()
                let second = try DatagramSocket(host: pair.a)
                #expect(second.fd == first.fd, "the descriptor should be reused")
                try second.bind(port: 9003)
                // B answers from the start, so B's own ARP for A is done before A gives up.
                let sender = try DatagramSocket(host: pair.b)
                let received = Blocking.start { () -> Result<ReceivedDatagram, Errno> in
                    Result { () throws(Errno) in try second.receiveFrom(timeout: .seconds(3)) }
                }
                // Past the ARP give-up time, so the failure (if misrouted) is pending before the
                // datagram arrives.
                await Blocking.pause(HostPair.arpGiveUp * 3)
                try sender.sendTo(Array("for the new socket".utf8), address: HostPair.addressA, port: 9003)
                let outcome = try await received.value
                #expect(outcome.map(\.bytes) == .success(Array("for the new socket".utf8)))
                // Nothing of the first socket is left pending on the second either.
                let pending = Result { () throws(Errno) in try second.receiveFrom(timeout: .zero) }
                #expect(pending == .failure(.EAGAIN))
                try second.close()
            }
        }
    }
}
