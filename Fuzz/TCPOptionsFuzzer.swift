@testable import TCPIPCore

/// Fuzz target `TCPOptions`: the TCP option area parser (RFC 9293 §3.2, RFC 7323, RFC 2018).
///
/// Any bytes either fail with `.tcpBadOptions` or parse; what parses is written back in the
/// stack's own layout (a multiple of 4 bytes, at most 40) and must parse again to the same
/// options, SACK blocks cut to those that fit.
@_cdecl("LLVMFuzzerTestOneInput")
public func tcpOptionsFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzInput(data: data, size: size)
    switch TCPOptions.parse(input.bytes) {
    case .failure(let reason):
        require(reason == .tcpBadOptions, "unexpected drop reason \(reason)")
    case .success(let options):
        checkRoundTrip(options)
    }
    return 0
}

private func checkRoundTrip(_ options: TCPOptions) {
    require(options.sackBlocks.count <= 4, "more than 4 SACK blocks")
    let length = options.encodedLength
    require(length % 4 == 0 && length <= TCPOptions.maximumLength, "encoded length \(length)")
    var area = [UInt8](repeating: 0xEE, count: TCPOptions.maximumLength)
    let written = area.withUnsafeMutableBytes { options.write(to: $0, at: 0) }
    require(written == length, "wrote \(written) bytes, announced \(length)")
    let reparsed = area.withUnsafeBytes { TCPOptions.parse(UnsafeRawBufferPointer(rebasing: $0[0..<written])) }
    guard case .success(let again) = reparsed else { return require(false, "written options rejected: \(reparsed)") }
    var expected = options
    expected.sackBlocks.removeAll()
    for block in options.sackBlocks.prefix(options.encodedSACKBlockCount) {
        expected.sackBlocks.append(left: block.left, right: block.right)
    }
    require(again == expected, "round trip changed \(expected) into \(again)")
}
