// Big-endian field access on raw buffers. Callers check bounds before calling; these only
// read and write.

extension UnsafeRawBufferPointer {
    /// The big-endian `UInt16` at `offset`.
    @inlinable public func be16(_ offset: Int) -> UInt16 { UInt16(self[offset]) << 8 | UInt16(self[offset + 1]) }
    /// The big-endian `UInt32` at `offset`.
    @inlinable public func be32(_ offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8
            | UInt32(self[offset + 3])
    }
}

extension UnsafeMutableRawBufferPointer {
    /// The big-endian `UInt16` at `offset`.
    @inlinable public func be16(_ offset: Int) -> UInt16 { UInt16(self[offset]) << 8 | UInt16(self[offset + 1]) }
    /// The big-endian `UInt32` at `offset`.
    @inlinable public func be32(_ offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8
            | UInt32(self[offset + 3])
    }
    /// Stores `v` big-endian at `offset`.
    @inlinable public func setBE16(_ offset: Int, _ v: UInt16) {
        self[offset] = UInt8(truncatingIfNeeded: v >> 8)
        self[offset + 1] = UInt8(truncatingIfNeeded: v)
    }
    /// Stores `v` big-endian at `offset`.
    @inlinable public func setBE32(_ offset: Int, _ v: UInt32) {
        self[offset] = UInt8(truncatingIfNeeded: v >> 24)
        self[offset + 1] = UInt8(truncatingIfNeeded: v >> 16)
        self[offset + 2] = UInt8(truncatingIfNeeded: v >> 8)
        self[offset + 3] = UInt8(truncatingIfNeeded: v)
    }
}
