import Glibc

/// Splits a control client's byte stream into request lines, holding at most `maxLength`
/// bytes of an unfinished line: a longer line is reported once, as `tooLong`, and its bytes
/// are dropped up to its newline as they arrive, so a line of any length costs no more memory
/// than the limit.
struct ControlLineReader {
    /// What `feed` finds.
    enum Item {
        /// A complete line, without its newline.
        case line(ArraySlice<UInt8>)
        /// A line that passed `maxLength` bytes (reported when it does; the rest of it, up to
        /// its newline, is dropped).
        case tooLong
    }

    let maxLength: Int
    /// The unfinished line's bytes so far.
    private var pending: [UInt8] = []
    /// Dropping the rest of a line that was too long.
    private(set) var discarding = false

    init(maxLength: Int) { self.maxLength = maxLength }

    /// Takes the bytes read next and calls `body` for each line or over-long line they finish
    /// or reveal, in order; stops early, returning false, as soon as `body` returns false.
    mutating func feed(_ bytes: ArraySlice<UInt8>, _ body: (Item) -> Bool) -> Bool {
        var start = bytes.startIndex
        while start < bytes.endIndex {
            guard let newline = Self.newline(in: bytes[start...]) else {
                let rest = bytes[start...]
                if !discarding {
                    if pending.count + rest.count > maxLength {
                        drop()
                        discarding = true
                        return body(.tooLong)
                    }
                    pending.append(contentsOf: rest)
                }
                return true
            }
            let segment = bytes[start..<newline]
            start = newline + 1
            if discarding {
                discarding = false
                continue
            }
            if pending.count + segment.count > maxLength {
                drop()
                guard body(.tooLong) else { return false }
            } else if pending.isEmpty {
                guard body(.line(segment)) else { return false }
            } else {
                pending.append(contentsOf: segment)
                let ok = body(.line(pending[...]))
                // Keep a small buffer for the next line; give a large one back.
                pending.removeAll(keepingCapacity: pending.count <= 64 * 1024)
                guard ok else { return false }
            }
        }
        return true
    }

    private mutating func drop() { pending = [] }

    /// The index of the first newline (`memchr`: a 100 MiB line is scanned at memory speed).
    static func newline(in bytes: ArraySlice<UInt8>) -> Int? {
        bytes.withUnsafeBytes { p -> Int? in
            guard let base = p.baseAddress, let hit = memchr(base, 0x0A, p.count) else { return nil }
            return bytes.startIndex + (UnsafeRawPointer(hit) - base)
        }
    }
}
