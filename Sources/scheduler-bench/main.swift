// Pick cost of the schedulers for 10 and for 10,000 instances (make perf). Weights are 1…100 from a fixed seed.
// Prints ns/pick for each and the ratio of the two, which should stay ≤ 2 (a pick is O(1) in the instance count).
import MindAlphaPool


func targets(_ n: Int) -> [WeightedTarget] {
    var rng = SplitMix64(seed: 42)
    return (0..<n).map { WeightedTarget(name: "10.0.\($0 / 256).\($0 % 256):9000", weight: Int.random(in: 1...100, using: &rng)) }
}

/// Median ns/pick over 5 rounds of `picks` picks.
func nsPerPick(_ algorithm: SchedulingAlgorithm, _ n: Int, picks: Int) -> Double {
    var scheduler = algorithm.makeScheduler(targets(n))
    var sink = 0
    for _ in 0..<min(picks, 100_000) { sink &+= scheduler.next()! }  // warm-up
    var rounds: [Double] = []
    for _ in 0..<5 {
        let start = ContinuousClock.now
        for _ in 0..<picks { sink &+= scheduler.next()! }
        let (s, atto) = (ContinuousClock.now - start).components
        rounds.append((Double(s) * 1e9 + Double(atto) / 1e9) / Double(picks))
    }
    if sink == -1 { print(sink) }
    return rounds.sorted()[2]
}

for algorithm in SchedulingAlgorithm.allCases {
    let small = nsPerPick(algorithm, 10, picks: 10_000_000)
    let stored = algorithm == .lvs || SmoothScheduler(targets(10_000)).replaysCycle
    let big = nsPerPick(algorithm, 10_000, picks: stored ? 10_000_000 : 20_000)
    let note = algorithm == .lvs ? "step algorithm, ≤ 2 steps a pick" : stored ? "stored cycle, built by weight groups" : "cycle over the build bound: O(n) step per pick"
    print(String(format: "%@ ns_per_pick_10=%.2f ns_per_pick_10000=%.2f ratio=%.2f (%@)", algorithm.rawValue, small, big, big / small, note))
}
