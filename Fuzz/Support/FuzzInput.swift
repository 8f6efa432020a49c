/// A cursor over the bytes libFuzzer hands a target. Reads past the end give zeros (or fewer
/// bytes), so a target never has to guard against a short input.
struct FuzzInput {
    /// The whole input.
    let bytes: UnsafeRawBufferPointer
    /// The next byte to read.
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// libFuzzer's arguments as a buffer (an empty input may come with a null pointer).
    init(data: UnsafePointer<UInt8>?, size: Int) {
        bytes = UnsafeRawBufferPointer(start: size > 0 ? data : nil, count: size)
    }

    /// True when every byte has been read.
    var isAtEnd: Bool { offset >= bytes.count }

    /// The bytes not read yet.
    var remaining: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[min(offset, bytes.count)...]) }

    /// The next byte, or 0 past the end.
    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The next two bytes, big-endian.
    mutating func be16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }

    /// The next four bytes, big-endian.
    mutating func be32() -> UInt32 { UInt32(be16()) << 16 | UInt32(be16()) }

    /// Up to `count` bytes (fewer at the end of the input).
    mutating func take(_ count: Int) -> UnsafeRawBufferPointer {
        let start = min(offset, bytes.count)
        let end = min(bytes.count, start + max(0, count))
        offset = end
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    /// A length-prefixed chunk: two bytes of length, then up to that many bytes.
    mutating func chunk() -> UnsafeRawBufferPointer { take(Int(be16())) }
}
