import TCPIPCore

// Formatting shared by the demo's files.

/// Virtual time as seconds with microseconds, right-aligned for up to 99 s: ` 0.000250s`.
func demoTime(_ t: Instant) -> String {
    let us = t.nanoseconds / 1000
    let frac = String(us % 1_000_000)
    let s = "\(us / 1_000_000).\(String(repeating: "0", count: 6 - frac.count))\(frac)s"
    return s.count >= 10 ? s : String(repeating: " ", count: 10 - s.count) + s
}

/// A duration in nanoseconds as µs, ms or s, whichever reads best: `250 µs`, `1.5 ms`, `60 s`.
func demoDuration(_ ns: Int64) -> String {
    if ns < 1_000_000 { return "\(ns / 1000) µs" }
    if ns < 1_000_000_000 {
        let tenths = (ns / 100_000) % 10
        return tenths == 0 ? "\(ns / 1_000_000) ms" : "\(ns / 1_000_000).\(tenths) ms"
    }
    return "\(ns / 1_000_000_000) s"
}

func demoHex16(_ v: UInt16) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 4 - s.count) + s
}

func demoHex64(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - s.count) + s
}

func demoPad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

/// Data as quoted text when it is printable (escaping CR and LF, cut after `limit`
/// characters), else its size.
func demoPreview(_ bytes: [UInt8], limit: Int = 64) -> String {
    let printable = bytes.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x0D || $0 == 0x0A }
    guard !bytes.isEmpty, printable else { return "\(bytes.count) bytes of data" }
    var text = ""
    for b in bytes.prefix(limit) {
        switch b {
        case 0x0D: text += "\\r"
        case 0x0A: text += "\\n"
        default: text.append(Character(Unicode.Scalar(b)))
        }
    }
    return "\"\(text)\"" + (bytes.count > limit ? "…" : "")
}

/// Splits text into lines of at most `width` characters at spaces.
func demoWrap(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var line = ""
    for word in text.split(separator: " ") {
        if !line.isEmpty && line.count + 1 + word.count > width {
            lines.append(line)
            line = ""
        }
        line += line.isEmpty ? String(word) : " " + word
    }
    if !line.isEmpty { lines.append(line) }
    return lines
}
