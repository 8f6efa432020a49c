import TCPIPCore
import Testing

@testable import TCPIPDrivers

@Suite struct FaultInjectorTests {
    static let everything = FaultConfiguration(
        loss: 0.1,
        duplicate: 0.05,
        reorder: 0.1,
        corrupt: 0.02,
        delay: 1_000_000,
        jitter: 500_000,
        reorderDelay: 20_000_000
    )

    struct Delivery: Equatable {
        var frame: Int
        var due: Int64
        var bytes: [UInt8]
    }

    /// Feeds `count` distinct 64-byte frames, one per millisecond, and records every delivery.
    static func run(_ configuration: FaultConfiguration, seed: UInt64, count: Int) -> (FaultInjector, [Delivery]) {
        var injector = FaultInjector(configuration: configuration, seed: seed)
        var deliveries: [Delivery] = []
        for i in 0..<count {
            let frame = Self.frame(i)
            let now = Instant(nanoseconds: Int64(i) * 1_000_000)
            frame.withUnsafeBytes { bytes in
                injector.apply(frame: bytes, now: now) { due, out in
                    deliveries.append(Delivery(frame: i, due: due.nanoseconds, bytes: Array(out)))
                }
            }
        }
        return (injector, deliveries)
    }

    static func frame(_ i: Int) -> [UInt8] {
        (0..<64).map { UInt8(truncatingIfNeeded: i &* 31 &+ $0) }
    }

    @Test func noneDeliversEveryFrameOnceAtOnceUnchanged() {
        #expect(FaultConfiguration.none.isNone)
        #expect(!Self.everything.isNone)
        let (injector, deliveries) = Self.run(.none, seed: 1, count: 100)
        #expect(deliveries.count == 100)
        for (i, d) in deliveries.enumerated() {
            #expect(d == Delivery(frame: i, due: Int64(i) * 1_000_000, bytes: Self.frame(i)))
        }
        #expect(injector.frames == 100)
        #expect(injector.lost + injector.duplicated + injector.corrupted + injector.reordered == 0)
    }

    @Test func sameSeedSameDecisions() {
        let (a, first) = Self.run(Self.everything, seed: 42, count: 2000)
        let (b, second) = Self.run(Self.everything, seed: 42, count: 2000)
        #expect(first == second)
        #expect(a.lost == b.lost && a.duplicated == b.duplicated)
        #expect(a.corrupted == b.corrupted && a.reordered == b.reordered)
    }

    @Test func differentSeedDifferentDecisions() {
        let (_, first) = Self.run(Self.everything, seed: 42, count: 2000)
        let (_, second) = Self.run(Self.everything, seed: 43, count: 2000)
        #expect(first != second)
    }

    @Test func ratesOverTenThousandFrames() {
        let frames = 10_000
        let (injector, deliveries) = Self.run(Self.everything, seed: 7, count: frames)
        // Binomial standard deviations: loss ≈ 30, duplicate ≈ 21, reorder ≈ 31, corrupt ≈ 14.
        #expect((850...1150).contains(injector.lost), "lost \(injector.lost)")
        let kept = frames - injector.lost
        #expect(abs(Double(injector.duplicated) - 0.05 * Double(kept)) < 110, "duplicated \(injector.duplicated)")
        #expect(deliveries.count == kept + injector.duplicated)
        #expect(
            abs(Double(injector.reordered) - 0.1 * Double(deliveries.count)) < 160,
            "reordered \(injector.reordered)"
        )
        #expect(
            abs(Double(injector.corrupted) - 0.02 * Double(deliveries.count)) < 75,
            "corrupted \(injector.corrupted)"
        )

        var corrupted = 0
        var reordered = 0
        for d in deliveries {
            let original = Self.frame(d.frame)
            let flippedBits = zip(original, d.bytes).reduce(0) { $0 + ($1.0 ^ $1.1).nonzeroBitCount }
            #expect(flippedBits <= 1)
            corrupted += flippedBits
            let sent = Int64(d.frame) * 1_000_000
            var extra = d.due - sent - Self.everything.delay
            if extra >= Self.everything.reorderDelay {
                reordered += 1
                extra -= Self.everything.reorderDelay
            }
            #expect((0...Self.everything.jitter).contains(extra))
        }
        #expect(corrupted == injector.corrupted)
        #expect(reordered == injector.reordered)
    }

    @Test func lossOneLosesEverythingAndDuplicateOneDoublesEverything() {
        let (lossy, none) = Self.run(FaultConfiguration(loss: 1), seed: 3, count: 100)
        #expect(none.isEmpty && lossy.lost == 100)
        let (doubled, twice) = Self.run(FaultConfiguration(duplicate: 1), seed: 3, count: 100)
        #expect(twice.count == 200 && doubled.duplicated == 100)
        #expect(twice.map(\.frame) == (0..<100).flatMap { [$0, $0] })
    }

    @Test func corruptionFlipsExactlyOneBitAnywhere() {
        let (injector, deliveries) = Self.run(FaultConfiguration(corrupt: 1), seed: 9, count: 2000)
        #expect(injector.corrupted == 2000)
        var positions = Set<Int>()
        for d in deliveries {
            let diff = zip(Self.frame(d.frame), d.bytes).enumerated().filter { $0.element.0 != $0.element.1 }
            #expect(diff.count == 1)
            if let first = diff.first {
                #expect((first.element.0 ^ first.element.1).nonzeroBitCount == 1)
                positions.insert(first.offset)
            }
        }
        #expect(positions.count == 64, "every byte of the frame can be hit")
    }

    @Test func emptyFramesAreNeverCorrupted() {
        var injector = FaultInjector(configuration: FaultConfiguration(corrupt: 1), seed: 1)
        var count = 0
        [UInt8]().withUnsafeBytes { bytes in
            injector.apply(frame: bytes, now: .zero) { _, out in
                count += 1
                #expect(out.isEmpty)
            }
        }
        #expect(count == 1 && injector.corrupted == 0)
    }

    @Test func descriptionListsTheFaults() {
        #expect(FaultConfiguration.none.description == "none")
        #expect(
            Self.everything.description
                == "loss=10% duplicate=5% reorder=10%/20ms corrupt=2% delay=1ms jitter=500us"
        )
        #expect(FaultConfiguration(loss: 0.0125).description == "loss=1.25%")
    }
}
