import TCPIPCore

/// Helpers shared by the wire-format tests.
enum WireTest {
    /// Bytes from hex text; spaces and newlines are ignored.
    static func bytes(_ hex: String) -> [UInt8] {
        let digits = hex.filter { !$0.isWhitespace }.map { $0 }
        precondition(digits.count % 2 == 0, "odd number of hex digits")
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            out.append(UInt8(String(digits[i...i + 1]), radix: 16)!)
            i += 2
        }
        return out
    }

    /// Lower-case hex text of `bytes`, no separators.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef")
        var s = ""
        for b in bytes {
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 15)])
        }
        return s
    }

    /// `count` bytes from `rng`.
    static func randomBytes(_ count: Int, using rng: inout SeededRandom) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// Stores a fresh IPv4 header checksum in a header that starts at `bytes[0]`.
    static func fixIPv4Checksum(_ bytes: inout [UInt8]) {
        let headerLength = Int(bytes[0] & 15) * 4
        bytes[10] = 0
        bytes[11] = 0
        let c = bytes.withUnsafeBytes {
            InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<headerLength]))
        }
        bytes[10] = UInt8(c >> 8)
        bytes[11] = UInt8(c & 0xFF)
    }

    /// Stores a fresh TCP checksum in `segment` (the whole segment) for the given addresses.
    static func fixTCPChecksum(_ segment: inout [UInt8], source: IPv4Address, destination: IPv4Address) {
        segment[16] = 0
        segment[17] = 0
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: source, destination: destination, protocol: IPProtocol.tcp, length: segment.count)
        segment.withUnsafeBytes { sum.add($0) }
        let c = sum.value
        segment[16] = UInt8(c >> 8)
        segment[17] = UInt8(c & 0xFF)
    }
}

/// Frames the Linux kernel (6.x) sent through a TAP device (no checksum offload, so every
/// checksum is complete), captured in a scratch network namespace: the kernel is 10.99.0.1 at
/// 02:00:00:00:00:01, the peer 10.99.0.2 at 02:00:00:00:00:02.
enum LinuxCapture {
    static let kernelMAC = MACAddress(0x02, 0, 0, 0, 0, 0x01)
    static let peerMAC = MACAddress(0x02, 0, 0, 0, 0, 0x02)
    static let kernelIP = IPv4Address(10, 99, 0, 1)
    static let peerIP = IPv4Address(10, 99, 0, 2)

    /// `connect()` to 10.99.0.2:8080 first asks who has 10.99.0.2 (unpadded: TAP carries no
    /// 60-byte minimum).
    static let arpRequest = WireTest.bytes(
        "ffffffffffff 020000000001 0806 0001 0800 06 04 0001 020000000001 0a630001 000000000000 0a630002"
    )

    /// The SYN: MSS 1460, SACK-permitted, timestamps, window scale 10.
    static let syn = WireTest.bytes(
        """
        020000000002 020000000001 0800
        4500003c a31f4000 400682d4 0a630001 0a630002
        c0641f90 9cc88621 00000000 a002faf0 ca6b0000
        020405b4 0402080a 806dea8b 00000000 0103030a
        """
    )

    /// `send("hello")`: PSH+ACK with NOP NOP timestamps.
    static let data = WireTest.bytes(
        """
        020000000002 020000000001 0800
        45000039 a3214000 400682d5 0a630001 0a630002
        c0641f90 9cc88622 10000001 8018003f 052d0000
        0101080a 806dea8b abcdef01
        68656c6c6f
        """
    )

    /// The duplicate ACK answering out-of-order data: timestamps and one SACK block.
    static let dupAckWithSACK = WireTest.bytes(
        """
        020000000002 020000000001 0800
        45000040 a3224000 400682cd 0a630001 0a630002
        c0641f90 9cc88627 10000001 b010003f f21b0000
        0101080a 806dea8b abcdef01 0101050a 10000065 1000006f
        """
    )

    /// `sendto("hello udp\n")` from port 40000 to 10.99.0.2:9999.
    static let udp = WireTest.bytes(
        """
        020000000002 020000000001 0800
        45000026 4b5a4000 4011daa4 0a630001 0a630002
        9c40270f 0012fe50 68656c6c6f207564700a
        """
    )

    /// An echo request from a ping socket (identifier chosen by the kernel, sequence 1, 56 bytes
    /// of data 0x10…0x47).
    static let echoRequest = WireTest.bytes(
        """
        020000000002 020000000001 0800
        45000054 cdcd4000 40015813 0a630001 0a630002
        0800860f b91a0001
        101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f
        303132333435363738393a3b3c3d3e3f4041424344454647
        """
    )

    /// The kernel's port unreachable for a UDP datagram to 10.99.0.1:7777 (TOS 0xc0, no DF).
    static let portUnreachable = WireTest.bytes(
        """
        020000000002 020000000001 0800
        45c0003c cdce0000 4001976a 0a630001 0a630002
        030311e3 00000000
        45000020 22224000 401103e3 0a630002 0a630001 15b31e61 000cd828 70696e67
        """
    )

    /// The bytes of `frame` from `start` on.
    static func slice(_ frame: [UInt8], from start: Int) -> [UInt8] { Array(frame[start...]) }
}
