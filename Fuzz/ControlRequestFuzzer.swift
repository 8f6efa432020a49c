import Foundation
import TCPIPCore

@testable import TCPIP

/// Fuzz target `ControlRequest`: the control protocol's request line parser (JSON Lines,
/// docs/CONTROL-PROTOCOL.md) and its typed argument accessors.
///
/// Any line either parses to an object with a string `op` or fails with `EPROTO` (not a JSON
/// object) or `EINVAL` (no string `op`); every accessor on every argument either answers or
/// fails with `EINVAL`. Every string argument, written back with the server's JSON writer, must
/// read back as the same string, so that an answer echoing a client's text is valid JSON.
@_cdecl("LLVMFuzzerTestOneInput")
public func controlRequestFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzInput(data: data, size: size)
    let request: ControlRequest
    do {
        request = try ControlRequest(line: input.bytes)
    } catch {
        require(error == .EPROTO || error == .EINVAL, "parse failed with \(error)")
        return 0
    }
    for key in request.fields.keys.sorted() + ["fd", "port", "address", "data", "max", "timeout_ms"] {
        checkAccessors(request, key)
        if let s = request.value(key) as? String { checkEcho(s) }
    }
    checkEcho(request.op)
    return 0
}

/// Every accessor answers or fails with `EINVAL`.
private func checkAccessors(_ r: ControlRequest, _ key: String) {
    func expectEINVAL(_ body: () throws -> Void) {
        do { try body() } catch { require((error as? Errno) == .EINVAL, "accessor for '\(key)' failed with \(error)") }
    }
    expectEINVAL { _ = try r.int(key) }
    expectEINVAL { _ = try r.optionalInt(key) }
    expectEINVAL { _ = try r.string(key) }
    expectEINVAL { _ = try r.optionalString(key) }
    expectEINVAL { _ = try r.array(key) }
    expectEINVAL { _ = try r.fd(key) }
    expectEINVAL { _ = try r.port(key) }
    expectEINVAL { _ = try r.address(key) }
    expectEINVAL { _ = try r.optionalAddress(key) }
    expectEINVAL { _ = try r.data(key) }
    expectEINVAL { _ = try r.count(key) }
    expectEINVAL { _ = try r.timeout() }
    _ = r.has(key)
}

/// `s` written as a JSON string reads back as `s`.
private func checkEcho(_ s: String) {
    let text = JSONValue.array([.string(s)]).serialized
    require(!text.contains("\n"), "a JSON line with a newline in it")
    let back = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String]
    require(back == [s], "\(s.debugDescription) written as \(text) reads back as \(String(describing: back))")
}
