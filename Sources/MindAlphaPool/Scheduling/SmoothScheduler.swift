/// nginx's smooth weighted round robin: every pick adds each target's weight to its running value, picks the
/// largest (first in schedule order on ties) and takes the total weight off it. Same shares as LVS, interleaved.
///
/// Cost: the whole cycle (Σ weight/gcd picks) is computed once per change and replayed, so a pick is O(1). Building
/// it costs O(cycle × (distinct weights + log n)): targets of equal weight grow alike, so within a weight group the
/// order of `running − t·weight` never changes between picks, and one heap per group plus a scan of the group leaders
/// finds each pick. The cycle is stored only while it has at most ``maxCycle`` entries and costs at most
/// ``maxBuildSteps`` to build; otherwise (e.g. weights 1…65535, a cycle of billions) each pick runs the O(n) step
/// itself, storing nothing.
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
        if !cycle.isEmpty, position > 0 {
            for i in running.indices { running[i] += position * weights[i] }
            for k in 0..<position { running[Int(cycle[k])] -= total }
        }
        let previous = Dictionary(zip(self.targets.map(\.name), running), uniquingKeysWith: { a, _ in a })
        self.targets = WeightedTarget.scheduleOrder(targets)
        weights = self.targets.map(\.weight)
        running = self.targets.map { previous[$0.name] ?? 0 }
        total = weights.reduce(0, +)
        cycle = []
        position = 0
        let length = WeightedTarget.cycleLength(self.targets)
        let groups = Set(weights).count
        let log2n = Int.bitWidth - max(1, weights.count).leadingZeroBitCount
        let (cost, overflow) = length.multipliedReportingOverflow(by: groups + log2n)
        guard total > 0, length <= Self.maxCycle, !overflow, cost <= Self.maxBuildSteps else { return }
        // One full cycle brings every running value back where it started, so replaying it is exact.
        cycle = Self.buildCycle(running, weights, total, length)
    }

    /// The next `length` picks from `running`, by weight groups (targets are in schedule order, so each weight's
    /// targets are contiguous and ties go to the lowest index, as in the plain step).
    static func buildCycle(_ running: [Int], _ weights: [Int], _ total: Int, _ length: Int) -> [Int32] {
        var groups: [(weight: Int, heap: MaxHeap)] = []
        for i in weights.indices {
            if groups.last?.weight != weights[i] { groups.append((weights[i], MaxHeap())) }
            groups[groups.count - 1].heap.push(key: running[i], index: i)
        }
        var cycle: [Int32] = []
        cycle.reserveCapacity(length)
        for t in 1...length {
            var best = -1, bestValue = Int.min, bestIndex = Int.max
            for g in groups.indices {
                let top = groups[g].heap.top
                let value = top.key + t * groups[g].weight
                if value > bestValue || (value == bestValue && top.index < bestIndex) {
                    (best, bestValue, bestIndex) = (g, value, top.index)
                }
            }
            groups[best].heap.replaceTop(key: groups[best].heap.top.key - total)
            cycle.append(Int32(bestIndex))
        }
        return cycle
    }

    /// Whether picks replay a stored cycle (O(1)) rather than stepping over every target (O(n)).
    public var replaysCycle: Bool { !cycle.isEmpty }

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

    static func step(_ running: inout [Int], _ weights: [Int], _ total: Int) -> Int {
        var best = 0
        for i in weights.indices {
            running[i] += weights[i]
            if running[i] > running[best] { best = i }
        }
        running[best] -= total
        return best
    }
}

/// A binary max-heap of (key, index): larger key first, then smaller index.
struct MaxHeap {
    private var items: [(key: Int, index: Int)] = []

    var top: (key: Int, index: Int) { items[0] }

    private static func above(_ a: (key: Int, index: Int), _ b: (key: Int, index: Int)) -> Bool {
        a.key > b.key || (a.key == b.key && a.index < b.index)
    }

    mutating func push(key: Int, index: Int) {
        items.append((key, index))
        var i = items.count - 1
        while i > 0, Self.above(items[i], items[(i - 1) / 2]) {
            items.swapAt(i, (i - 1) / 2)
            i = (i - 1) / 2
        }
    }

    /// Gives the top a new key and restores the order.
    mutating func replaceTop(key: Int) {
        items[0].key = key
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count, Self.above(items[l], items[m]) { m = l }
            if r < items.count, Self.above(items[r], items[m]) { m = r }
            if m == i { return }
            items.swapAt(i, m)
            i = m
        }
    }
}
