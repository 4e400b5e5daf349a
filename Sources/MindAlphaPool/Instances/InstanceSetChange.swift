/// How an instance set changed between two answers from Consul, keyed by address.
public struct InstanceSetChange: Hashable, Sendable {
    public var added: [Instance]
    public var removed: [Instance]
    /// Same address, different weight: before and after.
    public var reweighted: [Reweight]

    public struct Reweight: Hashable, Sendable {
        public var before: Instance
        public var after: Instance

        public init(before: Instance, after: Instance) {
            self.before = before
            self.after = after
        }
    }

    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && reweighted.isEmpty }

    /// The change from `old` to `new`, each list in address order.
    public init(from old: [Instance], to new: [Instance]) {
        let before = Dictionary(old.map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
        let after = Dictionary(new.map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
        added = after.keys.filter { before[$0] == nil }.sorted().map { after[$0]! }
        removed = before.keys.filter { after[$0] == nil }.sorted().map { before[$0]! }
        reweighted = after.keys.sorted().compactMap { key in
            guard let b = before[key], let a = after[key], a.weight != b.weight else { return nil }
            return Reweight(before: b, after: a)
        }
    }
}
