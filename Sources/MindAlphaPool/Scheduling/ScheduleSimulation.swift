/// What a weighted round-robin scheduler does over a set of targets: its first picks, and over a longer run how
/// many picks each target got and the longest run of consecutive picks (the burst it takes). Pure: `schedule`
/// prints it, and tests check the schedulers with it.
public struct ScheduleSimulation: Sendable, Hashable {
    public var algorithm: SchedulingAlgorithm
    /// The first `shown` picks, by target name.
    public var sequence: [String]
    /// Over `simulated` picks: picks per target name.
    public var picks: [String: Int]
    /// Over `simulated` picks: the most consecutive picks of each target.
    public var longestRun: [String: Int]
    public var simulated: Int

    /// Runs `algorithm` over `targets` for `max(shown, simulated)` picks.
    public init(_ algorithm: SchedulingAlgorithm, _ targets: [WeightedTarget], shown: Int, simulated: Int) {
        var scheduler = algorithm.makeScheduler(targets)
        let names = scheduler.targets.map(\.name)
        var counts = [Int](repeating: 0, count: names.count), longest = counts
        var sequence: [String] = []
        var last = -1, streak = 0
        for i in 0..<max(shown, simulated) {
            guard let pick = scheduler.next() else { break }
            if i < shown { sequence.append(names[pick]) }
            guard i < simulated else { continue }
            counts[pick] += 1
            streak = pick == last ? streak + 1 : 1
            last = pick
            longest[pick] = max(longest[pick], streak)
        }
        self.algorithm = algorithm
        self.sequence = sequence
        self.picks = Dictionary(uniqueKeysWithValues: zip(names, counts))
        self.longestRun = Dictionary(uniqueKeysWithValues: zip(names, longest))
        self.simulated = simulated
    }

    /// The share of the simulated picks `name` got.
    public func observedShare(of name: String) -> Double {
        simulated == 0 ? 0 : Double(picks[name, default: 0]) / Double(simulated)
    }
}
