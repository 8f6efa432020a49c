import ArgumentParser
import TCPIPDrivers

/// Fault injection between the TAP device and the stack, in both directions (shared by
/// `serve` and `ping`).
struct FaultOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Probability that a frame is lost (0…1, or a percentage like 5%).", valueName: "p"))
    var loss: String?

    @Option(help: ArgumentHelp("Probability that a frame is delivered twice.", valueName: "p"))
    var duplicate: String?

    @Option(help: ArgumentHelp("Probability that a frame is held back so later ones pass it.", valueName: "p"))
    var reorder: String?

    @Option(help: ArgumentHelp("Probability that a frame has one bit flipped.", valueName: "p"))
    var corrupt: String?

    @Option(help: ArgumentHelp("Delay added to every frame, in milliseconds.", valueName: "ms"))
    var delayMs: String?

    @Option(help: ArgumentHelp("Extra random delay per frame, 0…N milliseconds.", valueName: "ms"))
    var jitterMs: String?

    @Option(help: ArgumentHelp("How long a reordered frame is held back (default 10).", valueName: "ms"))
    var reorderDelayMs: String?

    @Option(help: ArgumentHelp("Seed of the fault injector's choices (default 1).", valueName: "n"))
    var faultSeed: String?

    /// The faults and the injector's seed; fails on a malformed or out-of-range value.
    func configuration() throws(ToolFailure) -> (faults: FaultConfiguration, seed: UInt64) {
        func probability(_ text: String?, _ flag: String) throws(ToolFailure) -> Double {
            guard let text else { return 0 }
            return try Parse.probability(text, flag)
        }
        func milliseconds(_ text: String?, _ flag: String, default value: Int64 = 0) throws(ToolFailure) -> Int64 {
            guard let text else { return value * 1_000_000 }
            return try Parse.integer(text, flag, in: 0...3_600_000) * 1_000_000
        }
        let reorderProbability = try probability(reorder, "--reorder")
        // The hold-back matters only with reordering on; without it the link stays `.none`.
        let reorderDelay = try milliseconds(reorderDelayMs, "--reorder-delay-ms", default: 10)
        let faults = FaultConfiguration(
            loss: try probability(loss, "--loss"),
            duplicate: try probability(duplicate, "--duplicate"),
            reorder: reorderProbability,
            corrupt: try probability(corrupt, "--corrupt"),
            delay: try milliseconds(delayMs, "--delay-ms"),
            jitter: try milliseconds(jitterMs, "--jitter-ms"),
            reorderDelay: reorderProbability > 0 ? reorderDelay : 0
        )
        var seed: UInt64 = 1
        if let faultSeed { seed = try Parse.integer(faultSeed, "--fault-seed", in: UInt64.min...UInt64.max) }
        return (faults, seed)
    }
}
