@testable import TCPIPCore

/// Fuzz target `IPv4Header`: the IPv4 header and options parser (RFC 791 §3.1, RFC 1122
/// §3.2.1).
///
/// The first input byte chooses repairs so that the fuzzer gets past the checks it cannot
/// guess: bit 0 sets the total length to the bytes given, bit 1 sets a correct header checksum
/// (the options walk lies behind it). What parses must describe bytes that are there, and a
/// header written from the parsed fields must parse back to them.
@_cdecl("LLVMFuzzerTestOneInput")
public func ipv4HeaderFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data: data, size: size)
    let repairs = input.byte()
    var packet = Array(input.remaining)
    packet.withUnsafeMutableBytes { buf in
        if repairs & 1 != 0 { PacketRepair.setIPv4TotalLength(buf) }
        if repairs & 2 != 0 { PacketRepair.setIPv4HeaderChecksum(buf) }
    }
    packet.withUnsafeBytes { buf in
        switch IPv4Header.parse(buf) {
        case .failure(let reason):
            require(headerDrops.contains(reason), "unexpected drop reason \(reason)")
        case .success(let header):
            check(header, parsedFrom: buf)
        }
    }
    return 0
}

/// The reasons `IPv4Header.parse` documents.
private let headerDrops: Set<DropReason> = [
    .ipTooShort, .ipBadVersion, .ipBadHeaderLength, .ipBadTotalLength, .ipBadChecksum, .ipBadOptions,
]

private func check(_ h: IPv4Header, parsedFrom packet: UnsafeRawBufferPointer) {
    require(h.version == 4, "version \(h.version)")
    require(h.headerLength >= 20 && h.headerLength <= 60 && h.headerLength % 4 == 0, "IHL \(h.headerLength)")
    require(h.totalLength >= h.headerLength && h.totalLength <= packet.count, "total length \(h.totalLength)")
    require(h.fragmentOffset % 8 == 0 && h.fragmentOffset <= 0xFFF8, "offset \(h.fragmentOffset)")
    require(h.payloadLength == h.totalLength - h.headerLength, "payload length")
    // Written again without options: the same fields, a 20-byte header.
    let total = 20 + h.payloadLength
    var copy = [UInt8](repeating: 0, count: total)
    copy.withUnsafeMutableBytes { buf in
        var shortened = h
        shortened.totalLength = total
        shortened.write(to: buf, at: 0)
    }
    let reparsed = copy.withUnsafeBytes { IPv4Header.parse($0) }
    guard case .success(var again) = reparsed else { return require(false, "written header rejected: \(reparsed)") }
    again.headerLength = h.headerLength
    again.totalLength = h.totalLength
    again.checksum = h.checksum
    require(again == h, "round trip changed \(h) into \(again)")
}
