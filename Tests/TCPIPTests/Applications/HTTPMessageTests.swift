import Testing

@testable import TCPIP

/// `HTTPRequestParser.mayHoldHead`: the scan that spares a trickled head from being parsed
/// once per byte must never miss the empty line that ends it.
struct HTTPMessageTests {
    @Test(arguments: ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\nHost: a\n\n", "\r\nGET / HTTP/1.0\r\n\r\n"])
    func aHeadFedByteByByteIsSeenWhenItsEmptyLineArrives(_ head: String) {
        let bytes = Array(head.utf8)
        var scanned = 0
        var seenAt: Int?
        for n in 1...bytes.count {
            let prefix = Array(bytes[..<n])
            if HTTPRequestParser.mayHoldHead(prefix, from: scanned),
                case .request = HTTPRequestParser.parse(prefix)
            {
                seenAt = n
                break
            }
            scanned = n
        }
        #expect(seenAt == bytes.count, "\(head.debugDescription)")
    }

    @Test func noEmptyLineNoHead() {
        #expect(!HTTPRequestParser.mayHoldHead(Array("GET / HTTP/1.1\r\nHost: a\r\n".utf8), from: 0))
        #expect(!HTTPRequestParser.mayHoldHead(Array("GET / HTTP/1.1\r\nHost: a\r\n\r".utf8), from: 0))
    }
}
