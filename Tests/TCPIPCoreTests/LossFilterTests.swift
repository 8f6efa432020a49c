import TCPIPDrivers
import Testing

@testable import TCPIPCore

/// `SimulatedNetwork.lossFilter`: a chosen frame is lost on the wire, after the observer saw it.
@Suite struct LossFilterTests {
    @Test func theChosenFrameIsLostAndOnlyIt() {
        var net = Hosts.pair()
        let receiver = net.udpSocket(on: 1, bind: 7)
        let sender = net.udpSocket(on: 0)
        // Resolve ARP first, so that every later frame from A is one datagram.
        net.sendTo(on: 0, sender, [0], to: Hosts.bIP, port: 7)
        net.settle()
        _ = net.receive(on: 1, receiver)

        final class Seen: @unchecked Sendable { var fromA = 0 }
        let seen = Seen()
        net.observer = { _, from, _ in if from == 0 { seen.fromA += 1 } }
        net.lossFilter = { _, from, frame in
            // Lose the datagram whose one byte of data is 2 (the last byte of the frame).
            from == 0 && frame.count >= 43 && frame[42] == 2
        }
        for b: UInt8 in 1...3 {
            net.sendTo(on: 0, sender, [b], to: Hosts.bIP, port: 7)
        }
        net.settle()
        var got: [[UInt8]] = []
        while case .success(let d) = net.receive(on: 1, receiver) { got.append(d.bytes) }
        #expect(got == [[1], [3]])
        #expect(net.framesLostByFilter == 1)
        #expect(seen.fromA == 3, "the observer sees the lost frame too")
    }
}
