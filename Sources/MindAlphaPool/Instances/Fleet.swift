/// A set of instances in the order clients schedule them, with the numbers that describe the weighting.
public struct Fleet: Hashable, Sendable {
    /// Sorted by weight, highest first, then by address: deterministic where the Go client's sort is not.
    public let instances: [Instance]

    public init(_ instances: [Instance]) {
        self.instances = instances.sorted { ($0.weight, $1.address) > ($1.weight, $0.address) }
    }

    /// The sum of the weights.
    public var totalWeight: Int { instances.reduce(0) { $0 + $1.weight } }

    /// The greatest common divisor of the positive weights (0 when there are none): what a correct client uses.
    public var gcd: Int { WeightedTarget.gcd(weights: instances.map(\.weight)) }

    /// Picks in one full LVS cycle: Σ weight/gcd over positive weights; with all weights 0, plain round robin
    /// over every instance.
    public var cycleLength: Int { WeightedTarget.cycleLength(weights: instances.map(\.weight)) }

    /// An instance's share of picks, 0...1.
    public func share(of instance: Instance) -> Double {
        let total = totalWeight
        guard total > 0 else { return instances.isEmpty ? 0 : 1 / Double(instances.count) }
        return Double(instance.weight) / Double(total)
    }
}
