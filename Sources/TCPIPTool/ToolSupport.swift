import ArgumentParser
import Foundation

/// A failure the tool reports as one line on stderr, `tcpip: MESSAGE`, before exiting with
/// status 1 — never a crash and never the usage text.
struct ToolFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Terminal output written straight to the descriptors, one `write` per line, so lines from
/// several threads never interleave and nothing waits in a buffer. A closed pipe is ignored.
enum Output {
    /// Writes `line` and a newline to stdout.
    static func out(_ line: String) {
        try? FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Writes `line` and a newline to stderr.
    static func err(_ line: String) {
        try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
    }
}

/// Runs a command's body; a `ToolFailure` becomes one `tcpip: …` line on stderr and exit
/// status 1. The body returns the exit status.
func reportingFailures(_ body: () throws(ToolFailure) -> Int32) throws(ExitCode) {
    let status: Int32
    do {
        status = try body()
    } catch {
        Output.err("tcpip: \(error.message)")
        throw ExitCode.failure
    }
    if status != 0 { throw ExitCode(status) }
}

/// Parsers for option values, taken as strings so that a malformed value is reported in one
/// line naming the flag rather than with the usage text.
enum Parse {
    /// An integer in `range`.
    static func integer<T: FixedWidthInteger>(
        _ text: String,
        _ flag: String,
        in range: ClosedRange<T>
    )
        throws(ToolFailure) -> T
    {
        guard let v = T(text), range.contains(v) else {
            throw ToolFailure(
                "invalid \(flag) '\(text)': expected an integer in \(range.lowerBound)…\(range.upperBound)"
            )
        }
        return v
    }

    /// A non-negative decimal number, e.g. `0.2`.
    static func seconds(_ text: String, _ flag: String) throws(ToolFailure) -> Double {
        guard let v = Double(text), v.isFinite, v >= 0, v <= 86_400 * 365 else {
            throw ToolFailure("invalid \(flag) '\(text)': expected a number of seconds")
        }
        return v
    }

    /// A probability: `0.05` or `5%`.
    static func probability(_ text: String, _ flag: String) throws(ToolFailure) -> Double {
        let percent = text.hasSuffix("%")
        let number = percent ? String(text.dropLast()) : text
        guard var p = Double(number), p.isFinite else {
            throw ToolFailure("invalid \(flag) '\(text)': expected a probability like 0.05 or 5%")
        }
        if percent { p /= 100 }
        guard (0...1).contains(p) else {
            throw ToolFailure("invalid \(flag) '\(text)': a probability must be in 0…1 (0%…100%)")
        }
        return p
    }
}
