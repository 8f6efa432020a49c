/// An HTTP/1.x request head, parsed (RFC 9112 §3, §5).
struct HTTPRequest: Equatable {
    /// The method token, case-sensitive (RFC 9110 §9.1).
    var method: String
    /// The request target as sent.
    var target: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1 (and later 1.x).
    var minorVersion: Int
    /// Whether the connection persists after the response (RFC 9112 §9.3).
    var keepAlive: Bool
    /// Body bytes that follow the head (`Content-Length`; 0 when absent).
    var contentLength: Int
    /// The path's segments, percent-decoded, without empty and `.` segments; nil when one is
    /// `..` (or decodes to contain a `/` or NUL), which the server refuses.
    var pathSegments: [String]?
}

/// The result of parsing a request head from the start of a buffer.
enum HTTPParseResult: Equatable {
    /// More bytes are needed.
    case incomplete
    /// The head is not valid HTTP/1.x; the reason, for the 400 response.
    case malformed(String)
    /// A request, and how many bytes its head took (leading empty lines included).
    case request(HTTPRequest, consumed: Int)
}

/// A strict parser of HTTP/1.x request heads (RFC 9112).
enum HTTPRequestParser {
    static let cr: UInt8 = 13
    static let lf: UInt8 = 10

    /// Parses the head at the start of `bytes`. Lines end with CRLF or a bare LF (RFC 9112
    /// §2.2 lets a recipient accept LF); empty lines before the request line are skipped
    /// (§2.2 "SHOULD ignore at least one empty line").
    static func parse(_ bytes: [UInt8]) -> HTTPParseResult {
        bytes.withUnsafeBufferPointer { parse($0) }
    }

    /// Whether `bytes` may hold a complete head, judged by what came from `offset` on: an
    /// empty line (LF LF, or LF CR LF) that ends there or later. `parse` is `.incomplete`
    /// without one, so a head trickled in byte by byte is scanned once in all, not once per
    /// byte.
    static func mayHoldHead(_ bytes: [UInt8], from offset: Int) -> Bool {
        var i = max(0, offset - 2)
        while i + 1 < bytes.count {
            if bytes[i] == lf
                && (bytes[i + 1] == lf || (bytes[i + 1] == cr && i + 2 < bytes.count && bytes[i + 2] == lf))
            {
                return true
            }
            i += 1
        }
        return false
    }

    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> HTTPParseResult {
        var i = 0
        while i < b.count && (b[i] == cr || b[i] == lf) { i += 1 }
        var lines: [Range<Int>] = []
        var consumed = 0
        while true {
            var j = i
            while j < b.count && b[j] != lf { j += 1 }
            guard j < b.count else { return .incomplete }
            var end = j
            if end > i && b[end - 1] == cr { end -= 1 }
            if end == i {
                consumed = j + 1
                break
            }
            lines.append(i..<end)
            if lines.count > 200 { return .malformed("too many header fields") }
            i = j + 1
        }
        guard let first = lines.first else { return .incomplete }
        func text(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self) }

        // Request line (RFC 9112 §3): method SP request-target SP HTTP-version.
        let parts = b[first].split(separator: 32, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { return .malformed("bad request line") }
        guard parts[0].allSatisfy(isTokenByte) else { return .malformed("bad method") }
        let method = text(parts[0].startIndex..<parts[0].endIndex)
        let target = text(parts[1].startIndex..<parts[1].endIndex)
        let version = Array(parts[2])
        // HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3), major version 1 only here.
        guard version.count == 8, Array(version[0..<5]) == Array("HTTP/".utf8), version[5] == UInt8(ascii: "1"),
            version[6] == UInt8(ascii: "."), (48...57).contains(version[7])
        else { return .malformed("unsupported HTTP version") }
        let minor = Int(version[7] - 48)

        // Header fields (RFC 9112 §5): field-name ":" OWS field-value OWS.
        var connectionTokens: [String] = []
        var contentLength: Int?
        var hosts = 0
        for line in lines.dropFirst() {
            if b[line.lowerBound] == 32 || b[line.lowerBound] == 9 {
                // RFC 9112 §5.2: obs-fold in a request → 400.
                return .malformed("obsolete line folding")
            }
            guard let colon = b[line].firstIndex(of: UInt8(ascii: ":")) else {
                return .malformed("header field without ':'")
            }
            let nameRange = line.lowerBound..<colon
            // RFC 9112 §5.1: no whitespace between the field name and the colon → 400.
            guard !nameRange.isEmpty, b[nameRange].allSatisfy(isTokenByte) else {
                return .malformed("bad header field name")
            }
            var vs = colon + 1
            var ve = line.upperBound
            while vs < ve && (b[vs] == 32 || b[vs] == 9) { vs += 1 }
            while ve > vs && (b[ve - 1] == 32 || b[ve - 1] == 9) { ve -= 1 }
            let name = text(nameRange).lowercased()
            let value = text(vs..<ve)
            switch name {
            case "host":
                hosts += 1
            case "connection":
                for token in value.split(separator: ",") {
                    connectionTokens.append(String(token.drop { $0 == " " || $0 == "\t" }).lowercased())
                    while let last = connectionTokens[connectionTokens.count - 1].last, last == " " || last == "\t" {
                        connectionTokens[connectionTokens.count - 1].removeLast()
                    }
                }
            case "content-length":
                // RFC 9112 §6.3 (5): an invalid or conflicting length is unrecoverable.
                guard !value.isEmpty, value.utf8.allSatisfy({ (48...57).contains($0) }), value.utf8.count <= 15,
                    let n = Int(value)
                else { return .malformed("bad Content-Length") }
                if let old = contentLength, old != n { return .malformed("conflicting Content-Length") }
                contentLength = n
            case "transfer-encoding":
                // Request bodies are not supported; without their framing the stream is lost.
                return .malformed("Transfer-Encoding in a request is not supported")
            default:
                break
            }
        }
        // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
        // HTTP/1.1 request message that lacks a Host header field and to any request message
        // that contains more than one Host header field".
        if hosts > 1 || (minor >= 1 && hosts == 0) { return .malformed("missing or repeated Host") }
        // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
        let keepAlive =
            connectionTokens.contains("close") ? false : (minor >= 1 || connectionTokens.contains("keep-alive"))
        guard let segments = pathSegments(of: target) else { return .malformed("bad request target") }
        return .request(
            HTTPRequest(
                method: method,
                target: target,
                minorVersion: minor,
                keepAlive: keepAlive,
                contentLength: contentLength ?? 0,
                pathSegments: segments.refused ? nil : segments.list
            ),
            consumed: consumed
        )
    }

    /// tchar (RFC 9110 §5.6.2).
    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return tokenSymbols.contains(c)
        }
    }

    static let tokenSymbols = Array("!#$%&'*+-.^_`|~".utf8)

    /// The decoded segments of an origin-form (`/a/b?q`) or absolute-form (`http://h/a/b`)
    /// target (RFC 9112 §3.2). Nil when the target is neither or its escapes are broken;
    /// `refused` when a segment is `..` or decodes to contain `/` or NUL.
    static func pathSegments(of target: String) -> (list: [String], refused: Bool)? {
        var t = Substring(target)
        if t.lowercased().hasPrefix("http://") {
            t = t.dropFirst(7)
            guard let slash = t.firstIndex(of: "/") else { return ([], false) }
            t = t[slash...]
        }
        guard t.first == "/" else { return nil }
        if let q = t.firstIndex(where: { $0 == "?" || $0 == "#" }) { t = t[..<q] }
        var list: [String] = []
        var refused = false
        for raw in t.split(separator: "/", omittingEmptySubsequences: true) {
            guard let bytes = percentDecode(raw) else { return nil }
            if bytes.contains(0) || bytes.contains(UInt8(ascii: "/")) { refused = true }
            let segment = String(decoding: bytes, as: UTF8.self)
            if segment == "." { continue }
            if segment == ".." { refused = true }
            list.append(segment)
        }
        return (list, refused)
    }

    /// Decodes `%XX` escapes (RFC 3986 §2.1); nil on a broken one.
    static func percentDecode(_ s: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 65...70: return c - 55
            case 97...102: return c - 87
            default: return nil
            }
        }
        while i < u.count {
            if u[i] == UInt8(ascii: "%") {
                guard i + 2 < u.count, let h = hex(u[i + 1]), let l = hex(u[i + 2]) else { return nil }
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(u[i])
                i += 1
            }
        }
        return out
    }
}
