/// LVS weighted round robin, pick for pick as the Go client's `Get()` (docs/protocol.md §3.3–§3.7, §4).
///
/// Targets are kept highest weight first (ties by name); the state starts at index −1, current weight 0. Each step:
/// advance the index (mod n); at index 0 lower the current weight by the GCD, back to the maximum when it reaches
/// 0 or below; a target lighter than the current weight resets the index to −1 (the early reset) and the step is
/// spent; otherwise it is picked. Weight-0 targets are never picked while any weight is positive; with every weight 0
/// it is plain round robin.
///
/// Cost: because index 0 holds the maximum weight, which always qualifies, a pick takes at most two steps — O(1),
/// whatever the number of targets, with no cycle to store.
///
/// Changes (``update(_:)``) keep the index and current weight, as the Go client's poller does; the new GCD and
/// maximum apply from the next step, and an index past the end wraps.
public struct LVSScheduler: WeightedScheduler {
    public private(set) var targets: [WeightedTarget]
    private var weights: [Int]
    private var gcd = 0
    private var maxWeight = 0
    private var index = -1
    private var current = 0

    public init(_ targets: [WeightedTarget]) {
        self.targets = []
        self.weights = []
        update(targets)
    }

    public mutating func update(_ targets: [WeightedTarget]) {
        self.targets = WeightedTarget.scheduleOrder(targets)
        weights = self.targets.map(\.weight)
        gcd = WeightedTarget.gcd(self.targets)
        maxWeight = weights.first ?? 0
    }

    public mutating func next() -> Int? {
        let n = weights.count
        guard n > 0 else { return nil }
        while true {
            index = (index + 1) % n
            if index == 0 {
                current -= gcd
                if current <= 0 { current = maxWeight }
            }
            if weights[index] < current {
                index = -1
                continue
            }
            return index
        }
    }
}
