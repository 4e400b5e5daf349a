/// Something to schedule: a name (address or label) and a weight.
public struct WeightedTarget: Hashable, Sendable {
    public var name: String
    public var weight: Int

    public init(name: String, weight: Int) {
        precondition(weight >= 0, "weights are never negative")
        self.name = name
        self.weight = weight
    }

    /// Highest weight first, then by name: deterministic where the Go client's unstable sort is not.
    public static func scheduleOrder(_ targets: [WeightedTarget]) -> [WeightedTarget] {
        targets.sorted { ($0.weight, $1.name) > ($1.weight, $0.name) }
    }

    /// The GCD of the positive weights; 0 when none is positive.
    public static func gcd(_ targets: [WeightedTarget]) -> Int {
        targets.map(\.weight).filter { $0 > 0 }.reduce(0, Fleet.gcd)
    }

    /// Picks in one full cycle: Σ weight/gcd, or the count when every weight is 0 (plain round robin).
    public static func cycleLength(_ targets: [WeightedTarget]) -> Int {
        let g = gcd(targets)
        return g == 0 ? targets.count : targets.reduce(0) { $0 + $1.weight / g }
    }
}

/// A weighted round-robin pick sequence over a set of targets that may change while it runs.
public protocol WeightedScheduler: Sendable {
    /// The targets in schedule order.
    var targets: [WeightedTarget] { get }
    /// The index in ``targets`` of the next pick; `nil` only when there are no targets.
    mutating func next() -> Int?
    /// Replaces the targets without a restart (see each algorithm for what carries over).
    mutating func update(_ targets: [WeightedTarget])
}

/// The two algorithms.
public enum SchedulingAlgorithm: String, Sendable, CaseIterable {
    /// LVS weighted round robin exactly as MindAlpha-Serving's Go client runs it (the default).
    case lvs
    /// nginx's smooth weighted round robin: the same shares, no bursts.
    case smooth

    public func makeScheduler(_ targets: [WeightedTarget]) -> any WeightedScheduler {
        switch self {
        case .lvs: return LVSScheduler(targets)
        case .smooth: return SmoothScheduler(targets)
        }
    }
}
