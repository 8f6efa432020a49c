/// Stops the run with `message` when `condition` is false. libFuzzer reports the trap as a
/// crash and saves the input that caused it.
@inline(__always)
func require(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition() { fatalError("invariant violated: \(message())", file: file, line: line) }
}
