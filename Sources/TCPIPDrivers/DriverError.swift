import Glibc

/// A driver operation that failed: which device, what was being done, and the errno.
///
/// Its `description` is one line that names all three, e.g.
/// `tap0: cannot attach to /dev/net/tun: Device or resource busy (EBUSY)`.
public struct DriverError: Error, Sendable, CustomStringConvertible {
    /// The broad class of failure, from the errno.
    public enum Kind: Sendable, Hashable {
        /// `ENOENT`: the path (for a TAP device, `/dev/net/tun`: no tun module) does not exist.
        case notFound
        /// `EBUSY`: the interface is already attached by another process.
        case busy
        /// `EPERM` or `EACCES`: needs root or `CAP_NET_ADMIN`, or the file is not accessible.
        case permission
        /// Any other errno.
        case other
    }

    /// The device or file the operation was on, e.g. `tap0` or `trace.pcap`.
    public var device: String
    /// What was being done, e.g. `cannot attach to /dev/net/tun`.
    public var operation: String
    /// The errno value.
    public var code: Int32
    /// What to do about it, when there is something useful to say, e.g. `needs root or CAP_NET_ADMIN`.
    public var hint: String?

    /// Creates an error for `device` from the errno left by a failed `operation`.
    public init(device: String, operation: String, code: Int32, hint: String? = nil) {
        self.device = device
        self.operation = operation
        self.code = code
        self.hint = hint
    }

    /// The broad class of failure.
    public var kind: Kind {
        switch code {
        case ENOENT: .notFound
        case EBUSY: .busy
        case EPERM, EACCES: .permission
        default: .other
        }
    }

    /// The errno's symbolic name, e.g. `EBUSY` (or `errno 140` for uncommon values).
    public var errnoName: String { Self.name(ofErrno: code) }

    /// `device: operation: strerror (ENAME)`, then `; hint` if there is one. Always one line.
    public var description: String {
        let line = "\(device): \(operation): \(Syscall.message(for: code)) (\(errnoName))"
        guard let hint else { return line }
        return line + "; " + hint
    }

    /// The symbolic name of an errno value, e.g. `name(ofErrno: EBUSY) == "EBUSY"`.
    public static func name(ofErrno code: Int32) -> String {
        switch code {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case EINTR: "EINTR"
        case EIO: "EIO"
        case ENXIO: "ENXIO"
        case EBADF: "EBADF"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EFAULT: "EFAULT"
        case EBUSY: "EBUSY"
        case EEXIST: "EEXIST"
        case ENODEV: "ENODEV"
        case ENOTDIR: "ENOTDIR"
        case EISDIR: "EISDIR"
        case EINVAL: "EINVAL"
        case ENFILE: "ENFILE"
        case EMFILE: "EMFILE"
        case ENOTTY: "ENOTTY"
        case EFBIG: "EFBIG"
        case ENOSPC: "ENOSPC"
        case EROFS: "EROFS"
        case EPIPE: "EPIPE"
        case ENAMETOOLONG: "ENAMETOOLONG"
        case ENOSYS: "ENOSYS"
        case EBADFD: "EBADFD"
        case EMSGSIZE: "EMSGSIZE"
        case EOPNOTSUPP: "EOPNOTSUPP"
        case EAFNOSUPPORT: "EAFNOSUPPORT"
        case ENOBUFS: "ENOBUFS"
        case ENETDOWN: "ENETDOWN"
        case EDQUOT: "EDQUOT"
        default: "errno \(code)"
        }
    }
}
