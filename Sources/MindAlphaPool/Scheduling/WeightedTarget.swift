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
    public static func gcd(_ targets: [WeightedTarget]) -> Int { gcd(weights: targets.map(\.weight)) }

    /// Picks in one full cycle: Σ weight/gcd, or the count when every weight is 0 (plain round robin).
    public static func cycleLength(_ targets: [WeightedTarget]) -> Int { cycleLength(weights: targets.map(\.weight)) }

    /// The GCD of the positive `weights` (0 when none is positive): what a correct client uses. The one place it is
    /// computed, for schedulers and fleets alike.
    public static func gcd(weights: [Int]) -> Int {
        weights.filter { $0 > 0 }.reduce(0) { a, b in
            var (a, b) = (a, b)
            while b != 0 { (a, b) = (b, a % b) }
            return a
        }
    }

    /// Picks in one full cycle over `weights`: Σ weight/gcd, or the count when every weight is 0.
    public static func cycleLength(weights: [Int]) -> Int {
        let g = gcd(weights: weights)
        return g == 0 ? weights.count : weights.reduce(0) { $0 + $1 / g }
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
