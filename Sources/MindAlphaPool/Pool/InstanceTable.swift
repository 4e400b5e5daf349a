/// Instance states indexed by key (keys are handed out in sequence and never reused): a lookup is an array index,
/// not a hash.
struct InstanceTable<State> {
    private var entries: [State?] = []
    private var live: [Bool] = []

    func contains(_ key: InstanceKey) -> Bool { key.raw < live.count && live[key.raw] }

    mutating func insert(_ state: State, at key: InstanceKey) {
        while entries.count <= key.raw {
            entries.append(nil)
            live.append(false)
        }
        entries[key.raw] = state
        live[key.raw] = true
    }

    mutating func remove(_ key: InstanceKey) -> State? {
        guard contains(key) else { return nil }
        live[key.raw] = false
        defer { entries[key.raw] = nil }
        return entries[key.raw]
    }

    mutating func modify<R>(_ key: InstanceKey, _ body: (inout State) -> R) -> R {
        body(&entries[key.raw]!)
    }

    var count: Int { live.lazy.filter { $0 }.count }

    /// Every live entry, in key order.
    var all: [(InstanceKey, State)] {
        entries.indices.compactMap { i in entries[i].map { (InstanceKey(raw: i), $0) } }
    }
}

extension InstanceTable: Sendable where State: Sendable {}
