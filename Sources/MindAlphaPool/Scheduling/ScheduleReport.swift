/// `schedule --json`: one simulation of a set of targets, or several (one per algorithm) side by side, with the
/// expected share of each target beside what the scheduler gave it.
public struct ScheduleReport: Encodable, Sendable {
    /// The algorithm, or `compare` when several ran.
    public var algorithm: String
    public var gcd: Int
    public var cycleLength: Int
    public var simulated: Int
    /// The first run's first picks.
    public var sequence: [String]
    /// The first run, per target in schedule order.
    public var instances: [Row]
    /// Every run by algorithm, when several ran.
    public var compare: [String: Run]?

    public struct Row: Encodable, Sendable {
        public var name: String
        public var weight: Int
        public var expectedShare: Double
        public var observedShare: Double
        public var picks: Int
        public var longestRun: Int
    }

    public struct Run: Encodable, Sendable {
        public var sequence: [String]
        public var instances: [Row]
    }

    /// `runs` of the same `targets` (at least one); shares are rounded to six places.
    public init(targets: [WeightedTarget], runs: [ScheduleSimulation]) {
        let ordered = WeightedTarget.scheduleOrder(targets)
        let shares = Self.expectedShares(ordered)
        func rows(_ r: ScheduleSimulation) -> [Row] {
            zip(ordered, shares).map { t, share in
                Row(name: t.name, weight: t.weight, expectedShare: Self.round6(share),
                    observedShare: Self.round6(r.observedShare(of: t.name)),
                    picks: r.picks[t.name, default: 0], longestRun: r.longestRun[t.name, default: 0])
            }
        }
        algorithm = runs.count == 1 ? runs[0].algorithm.rawValue : "compare"
        gcd = WeightedTarget.gcd(targets)
        cycleLength = WeightedTarget.cycleLength(targets)
        simulated = runs[0].simulated
        sequence = runs[0].sequence
        instances = rows(runs[0])
        compare = runs.count == 1 ? nil : Dictionary(uniqueKeysWithValues: runs.map { r in
            (r.algorithm.rawValue, Run(sequence: r.sequence, instances: rows(r)))
        })
    }

    /// Each target's weight over the total, in order (an equal share each when every weight is 0).
    public static func expectedShares(_ targets: [WeightedTarget]) -> [Double] {
        let total = targets.reduce(0) { $0 + $1.weight }
        return targets.map { total == 0 ? 1 / Double(targets.count) : Double($0.weight) / Double(total) }
    }

    static func round6(_ x: Double) -> Double { (x * 1e6).rounded() / 1e6 }
}
