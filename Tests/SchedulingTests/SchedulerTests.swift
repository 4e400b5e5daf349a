import MindAlphaPool
import Testing

@Suite struct SchedulerTests {
    static func targets(_ spec: KeyValuePairs<String, Int>) -> [WeightedTarget] {
        spec.map { WeightedTarget(name: $0.key, weight: $0.value) }
    }

    static func picks(_ algorithm: SchedulingAlgorithm, _ targets: [WeightedTarget], _ count: Int) -> String {
        var s = algorithm.makeScheduler(targets)
        return (0..<count).map { _ in s.targets[s.next()!].name }.joined()
    }

    // docs/protocol.md §4, the three worked examples (with ties in name order).
    @Test func example1() { #expect(Self.picks(.lvs, Self.targets(["A": 4, "B": 3, "C": 2]), 18) == "AABABCABC" + "AABABCABC") }
    @Test func example2() { #expect(Self.picks(.lvs, Self.targets(["A": 200, "B": 200, "C": 100]), 10) == "ABABCABABC") }
    @Test func example3() { #expect(Self.picks(.lvs, Self.targets(["A": 5, "B": 1, "C": 1]), 14) == "AAAAABCAAAAABC") }

    @Test func orderIsWeightThenNameWhateverTheInput() {
        #expect(Self.picks(.lvs, Self.targets(["C": 100, "B": 200, "A": 200]), 5) == "ABABC")
    }

    @Test func smoothIsNginxs() {
        // nginx's own example: weights 5, 1, 1 give a a b a c a a.
        #expect(Self.picks(.smooth, Self.targets(["a": 5, "b": 1, "c": 1]), 14) == "aabacaa" + "aabacaa")
        #expect(Self.picks(.smooth, Self.targets(["A": 4, "B": 3, "C": 2]), 9) == "ABCABACBA")
    }

    @Test(arguments: SchedulingAlgorithm.allCases)
    func zeroWeightsAreNeverPickedWhileAnyIsPositive(algorithm: SchedulingAlgorithm) {
        let seq = Self.picks(algorithm, Self.targets(["A": 3, "Z": 0, "B": 1]), 40)
        #expect(!seq.contains("Z"))
        #expect(seq.filter { $0 == "A" }.count == 30)
    }

    @Test(arguments: SchedulingAlgorithm.allCases)
    func allZeroIsPlainRoundRobin(algorithm: SchedulingAlgorithm) {
        #expect(Self.picks(algorithm, Self.targets(["A": 0, "B": 0, "C": 0]), 6) == "ABCABC")
    }

    @Test(arguments: SchedulingAlgorithm.allCases)
    func emptyHasNoPick(algorithm: SchedulingAlgorithm) {
        var s = algorithm.makeScheduler([])
        #expect(s.next() == nil)
    }

    /// Over random weight sets, one full cycle picks every target exactly weight/gcd times.
    @Test(arguments: SchedulingAlgorithm.allCases)
    func oneCyclePicksEachWeightOverGCDTimes(algorithm: SchedulingAlgorithm) {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let n = Int.random(in: 1...12, using: &rng)
            let scale = [1, 7, 100].randomElement(using: &rng)!
            let targets = (0..<n).map { WeightedTarget(name: "t\($0)", weight: Int.random(in: 0...20, using: &rng) * scale) }
            let g = WeightedTarget.gcd(targets)
            let length = WeightedTarget.cycleLength(targets)
            var s = algorithm.makeScheduler(targets)
            var counts: [String: Int] = [:]
            for _ in 0..<length { counts[s.targets[s.next()!].name, default: 0] += 1 }
            for t in targets {
                let expected = g == 0 ? 1 : t.weight / g
                #expect(counts[t.name, default: 0] == expected, "\(algorithm) \(targets.map(\.weight)): \(t.name)")
            }
        }
    }

    @Test func smoothFallsBackWithoutStoringHugeCycles() {
        // Weights 1...65535 make a cycle of about 2^31 picks: nothing is stored, picks step in O(n), shares hold.
        let targets = (1...65535).map { WeightedTarget(name: "t\($0)", weight: $0) }
        #expect(WeightedTarget.cycleLength(targets) > SmoothScheduler.maxCycle)
        var s = SmoothScheduler(targets)
        #expect(!s.replaysCycle)
        #expect(s.targets[s.next()!].weight == 65535)
        #expect(SmoothScheduler(Array(targets.prefix(50))).replaysCycle)
        var big = LVSScheduler(targets)
        #expect(big.targets[big.next()!].weight == 65535)
    }

    @Test func lvsKeepsItsStateAcrossAReweight() {
        var s = LVSScheduler(Self.targets(["A": 4, "B": 3, "C": 2]))
        let before = (0..<4).map { _ in s.targets[s.next()!].name }.joined()
        #expect(before == "AABA")
        s.update(Self.targets(["A": 4, "B": 3, "C": 2, "D": 4]))
        // State (index, current weight) carries over: the next picks continue from current weight 2.
        let after = (0..<6).map { _ in s.targets[s.next()!].name }.joined()
        #expect(after == "DBCADB")
    }

    @Test func smoothCarriesRunningValuesAcrossAChange() {
        var s = SmoothScheduler(Self.targets(["A": 1, "B": 1]))
        #expect(s.targets[s.next()!].name == "A")
        s.update(Self.targets(["A": 1, "B": 1, "C": 1]))
        // B was owed the next pick and still gets it; the newcomer C is not starved.
        let seq = (0..<6).map { _ in s.targets[s.next()!].name }.joined()
        #expect(seq.first == "B")
        #expect(seq.filter { $0 == "C" }.count == 2)
    }

    @Test(arguments: SchedulingAlgorithm.allCases)
    func removingTheCurrentTargetKeepsGoing(algorithm: SchedulingAlgorithm) {
        var s = algorithm.makeScheduler(Self.targets(["A": 3, "B": 2, "C": 1]))
        for _ in 0..<4 { _ = s.next() }
        s.update(Self.targets(["C": 1]))
        #expect((0..<3).map { _ in s.targets[s.next()!].name }.joined() == "CCC")
    }
}
