/// The caller's memory lent to the owner thread for one async read: the caller does not touch
/// it until the call returns, and the owner thread not after it has delivered.
struct LentBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer

    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
}
