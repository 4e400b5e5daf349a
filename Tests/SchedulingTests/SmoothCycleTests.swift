@testable import MindAlphaPool
import Testing

/// The grouped cycle build must be the plain nginx step, pick for pick, from any state.
@Suite struct SmoothCycleTests {
    @Test func groupedBuildEqualsThePlainStep() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let n = Int.random(in: 1...40, using: &rng)
            let distinct = Int.random(in: 1...6, using: &rng)
            let targets = WeightedTarget.scheduleOrder((0..<n).map {
                WeightedTarget(name: "t\($0)", weight: Int.random(in: 1...distinct, using: &rng) * 3)
            })
            let weights = targets.map(\.weight)
            let total = weights.reduce(0, +)
            let start = weights.map { _ in Int.random(in: -total...total, using: &rng) }
            let length = Int.random(in: 1...500, using: &rng)
            var state = start
            let plain = (0..<length).map { _ in Int32(SmoothScheduler.step(&state, weights, total)) }
            #expect(SmoothScheduler.buildCycle(start, weights, total, length) == plain, "\(weights) from \(start)")
        }
    }

    @Test func tenThousandInstancesStoreTheirCycle() {
        // The benchmark's shape: weights 1…100 over 10,000 instances, a cycle of about half a million picks.
        var rng = SystemRandomNumberGenerator()
        let targets = (0..<10_000).map { WeightedTarget(name: "i\($0)", weight: Int.random(in: 1...100, using: &rng)) }
        var s = SmoothScheduler(targets)
        var counts = [Int](repeating: 0, count: targets.count)
        let length = WeightedTarget.cycleLength(targets)
        for _ in 0..<length { counts[s.next()!] += 1 }
        let g = WeightedTarget.gcd(targets)
        #expect(zip(counts, s.targets).allSatisfy { $0 == $1.weight / g })
    }

    @Test func updateMidCycleMatchesThePlainStep() {
        let a = [WeightedTarget(name: "a", weight: 5), WeightedTarget(name: "b", weight: 3), WeightedTarget(name: "c", weight: 1)]
        var replayed = SmoothScheduler(a)
        for _ in 0..<4 { _ = replayed.next() }
        // The same four picks by hand, then the state carried into a change.
        var state = [0, 0, 0]
        for _ in 0..<4 { _ = SmoothScheduler.step(&state, [5, 3, 1], 9) }
        let b = a + [WeightedTarget(name: "d", weight: 3)]
        replayed.update(b)
        var carried = [state[0], state[1], 0, state[2]]  // schedule order a(5), b(3), d(3), c(1)
        let plain = (0..<12).map { _ in SmoothScheduler.step(&carried, [5, 3, 3, 1], 12) }
        #expect((0..<12).map { _ in replayed.next()! } == plain)
    }
}
