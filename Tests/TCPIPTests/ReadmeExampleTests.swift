import Foundation
import TCPIP
import TCPIPCore
import TCPIPDrivers
import Testing

/// The README's "two stacks in one process" example, verbatim, so that it keeps compiling
/// and working.
@Suite(.timeLimit(.minutes(1)))
struct ReadmeExampleTests {
    @Test func twoStacksInOneProcess() async throws {
        let reply = try await Blocking.run { () throws -> String in
            // --- README: two stacks in one process ---
            func host(_ last: UInt8, _ device: MemoryDevice) throws -> Host {
                let address = IPv4Network(address: IPv4Address(10, 0, 0, last), prefixLength: 24)
                let interface = Interface(name: device.name, mac: MACAddress(0x02, 0, 0, 0, 0, last), network: address)
                return try Host(
                    configuration: HostConfiguration(stack: StackConfiguration(interfaces: [interface])),
                    device: device
                )
            }
            let (wireA, wireB) = try MemoryDevice.pair()
            let a = try host(1, wireA)
            let b = try host(2, wireB)
            try a.start()
            try b.start()
            defer {
                a.stop()
                b.stop()
            }
            let listener = try StreamListener(host: b, port: 7)
            let client = try StreamSocket.connect(host: a, address: IPv4Address(10, 0, 0, 2), port: 7)
            let server = try listener.accept()
            try client.write(Array("hello".utf8))
            let got = try server.read()
            // --- end of the README example ---
            try client.close()
            try server.close()
            try listener.close()
            return String(decoding: got, as: UTF8.self)
        }
        #expect(reply == "hello")
    }
}
