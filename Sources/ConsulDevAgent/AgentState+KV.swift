extension AgentState {
    /// One key and the index to block on (``KVTable/get(_:)``).
    func kvGet(_ key: String) -> (entry: KVTable.Entry?, index: UInt64) { store.withLockedValue { $0.kv.get(key) } }

    /// The entries under a prefix and its index.
    func kvList(prefix: String) -> (entries: [KVTable.Entry], index: UInt64) {
        store.withLockedValue { $0.kv.list(prefix: prefix) }
    }

    /// The keys under a prefix (cut at `separator` when given) and its index.
    func kvKeys(prefix: String, separator: String) -> (keys: [String], index: UInt64) {
        store.withLockedValue { $0.kv.keys(prefix: prefix, separator: separator) }
    }

    /// Sets a key (``KVTable/set(_:value:flags:cas:at:)``); a write that applies takes the agent's next index and
    /// wakes the blocking queries on the store.
    func kvSet(_ key: String, value: [UInt8]?, flags: UInt64, cas: UInt64?) -> Bool {
        kvWrite { kv, next in
            let applied = kv.set(key, value: value, flags: flags, cas: cas, at: next)
            return (applied, applied)
        }
    }

    /// Deletes a key or a prefix (``KVTable/delete(_:recurse:cas:at:)``).
    func kvDelete(_ key: String, recurse: Bool, cas: UInt64?) -> Bool {
        kvWrite { kv, next in kv.delete(key, recurse: recurse, cas: cas, at: next) }
    }

    private func kvWrite(_ write: (inout KVTable, UInt64) -> (result: Bool, changed: Bool)) -> Bool {
        let (result, wake) = store.withLockedValue { s -> (Bool, [@Sendable () -> Void]) in
            let (result, changed) = write(&s.kv, s.index + 1)
            guard changed else { return (result, []) }
            s.index += 1
            return (result, Self.takeWaiters(&s, topics: [.kv]))
        }
        wake.forEach { $0() }
        return result
    }
}
