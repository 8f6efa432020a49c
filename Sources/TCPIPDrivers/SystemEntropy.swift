/// The operating system's entropy (`getrandom(2)`): where real runs get the seed for the
/// stack's `SeededRandom`. Tests pass a fixed seed instead, so they replay exactly.
public enum SystemEntropy {
    /// 64 random bits from the kernel.
    public static func seed() -> UInt64 {
        var value: UInt64 = 0
        do {
            try withUnsafeMutableBytes(of: &value) { (bytes) throws(SyscallError) in try Syscall.getrandom(bytes) }
        } catch {
            // getrandom only fails on kernels older than 3.17 or with a bad buffer.
            preconditionFailure("getrandom failed: \(DriverError.name(ofErrno: error.code))")
        }
        return value
    }
}
