/// nginx's smooth weighted round robin: every pick adds each target's weight to its running value, picks the
/// largest (first in schedule order on ties) and takes the total weight off it. Same shares as LVS, interleaved.
///
/// Cost: the whole cycle (Σ weight/gcd picks) is computed once per change and replayed, so a pick is O(1). The cycle is
/// stored only while it has at most ``maxCycle`` entries and costs at most ``maxBuildSteps`` to build; otherwise
/// (e.g. weights 1…65535, a cycle of billions) each pick runs the O(n) step itself, storing nothing.
///
/// Changes (``update(_:)``) keep each remaining target's running value (new ones start at 0), so nobody is
/// starved or favoured by a re-weight; the cycle is rebuilt from that state.
public struct SmoothScheduler: WeightedScheduler {
    public static let maxCycle = 1 << 20
    public static let maxBuildSteps = 1 << 28

    public private(set) var targets: [WeightedTarget]
    private var weights: [Int]
    private var running: [Int]
    private var total = 0
    private var cycle: [Int32] = []
    private var position = 0

    public init(_ targets: [WeightedTarget]) {
        self.targets = []
        self.weights = []
        self.running = []
        update(targets)
    }

    public mutating func update(_ targets: [WeightedTarget]) {
        // While replaying, `running` holds the values at the cycle's start: bring them to the current pick.
        if !cycle.isEmpty { for _ in 0..<position { _ = Self.step(&running, weights, total) } }
        let previous = Dictionary(zip(self.targets.map(\.name), running), uniquingKeysWith: { a, _ in a })
        self.targets = WeightedTarget.scheduleOrder(targets)
        weights = self.targets.map(\.weight)
        running = self.targets.map { previous[$0.name] ?? 0 }
        total = weights.reduce(0, +)
        cycle = []
        position = 0
        let length = WeightedTarget.cycleLength(self.targets)
        guard total > 0, length <= Self.maxCycle, length.multipliedReportingOverflow(by: max(1, weights.count)).partialValue <= Self.maxBuildSteps else { return }
        // One full cycle brings every running value back where it started, so replaying it is exact.
        var state = running
        cycle.reserveCapacity(length)
        for _ in 0..<length { cycle.append(Int32(Self.step(&state, weights, total))) }
    }

    public mutating func next() -> Int? {
        guard !weights.isEmpty else { return nil }
        if total == 0 {
            // Every weight 0: plain round robin.
            defer { position = (position + 1) % weights.count }
            return position
        }
        guard !cycle.isEmpty else { return Self.step(&running, weights, total) }
        defer { position = position + 1 == cycle.count ? 0 : position + 1 }
        return Int(cycle[position])
    }

    private static func step(_ running: inout [Int], _ weights: [Int], _ total: Int) -> Int {
        var best = 0
        for i in weights.indices {
            running[i] += weights[i]
            if running[i] > running[best] { best = i }
        }
        running[best] -= total
        return best
    }
}
