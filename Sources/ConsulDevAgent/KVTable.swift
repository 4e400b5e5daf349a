/// Consul's key/value store as its state store keeps it, without I/O: the entries by key, the tombstones that
/// deletes leave (so that a prefix's index still moves when a key under it goes), and the table's own index. Writes
/// are given the index they would take and say whether they applied; the caller moves the agent's index only then.
struct KVTable {
    /// One key, as Consul's `DirEntry` holds it.
    struct Entry: Equatable {
        var key: String
        /// `nil` for an empty value (Consul's JSON says `null`).
        var value: [UInt8]?
        var flags: UInt64
        var lockIndex: UInt64 = 0
        var createIndex: UInt64
        var modifyIndex: UInt64
    }

    private var entries: [String: Entry] = [:]
    private var tombstones: [String: UInt64] = [:]
    /// The index of the table's last applied write (0 before any).
    private(set) var index: UInt64 = 0

    /// The entry for `key`, and the index a blocking query on it waits past: its `ModifyIndex`, or, when there is no
    /// such key, the table's (at least 1, as Consul never answers 0).
    func get(_ key: String) -> (entry: Entry?, index: UInt64) {
        if let entry = entries[key] { return (entry, entry.modifyIndex) }
        return (nil, max(index, 1))
    }

    /// Every entry under `prefix`, in key order, and the prefix's index (``prefixIndex(_:of:)``).
    func list(prefix: String) -> (entries: [Entry], index: UInt64) {
        let matching = entries.values.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }
        return (matching, prefixIndex(prefix, of: matching))
    }

    /// The keys under `prefix`, in order; with a `separator`, a key with the separator after the prefix is cut after
    /// its first one and listed once (Consul's "directories").
    func keys(prefix: String, separator: String) -> (keys: [String], index: UInt64) {
        let (matching, index) = list(prefix: prefix)
        guard !separator.isEmpty else { return (matching.map(\.key), index) }
        var keys: [String] = []
        for entry in matching {
            let after = entry.key.dropFirst(prefix.count)
            if let range = after.range(of: separator) {
                let key = String(entry.key[..<range.upperBound])
                if keys.last != key { keys.append(key) }
            } else {
                keys.append(entry.key)
            }
        }
        return (keys, index)
    }

    /// The highest `ModifyIndex` under the prefix, tombstones included; the table's when that is 0 or the prefix is
    /// empty (listing everything); at least 1.
    private func prefixIndex(_ prefix: String, of matching: [Entry]) -> UInt64 {
        guard !prefix.isEmpty else { return max(index, 1) }
        var highest = matching.map(\.modifyIndex).max() ?? 0
        for (key, deleted) in tombstones where deleted > highest && key.hasPrefix(prefix) { highest = deleted }
        return max(highest == 0 ? index : highest, 1)
    }

    /// Sets `key`; with `cas`, only if its `ModifyIndex` is that (0: only if it does not exist). Returns whether it
    /// was set.
    mutating func set(_ key: String, value: [UInt8]?, flags: UInt64, cas: UInt64?, at next: UInt64) -> Bool {
        let existing = entries[key]
        if let cas {
            if cas == 0, existing != nil { return false }
            if cas != 0, existing?.modifyIndex != cas { return false }
        }
        entries[key] = Entry(
            key: key, value: value.flatMap { $0.isEmpty ? nil : $0 }, flags: flags, lockIndex: existing?.lockIndex ?? 0,
            createIndex: existing?.createIndex ?? next, modifyIndex: next)
        index = next
        return true
    }

    /// Deletes `key` (or, with `recurse`, every key under it); with `cas`, only if its `ModifyIndex` is that.
    /// Returns Consul's answer (a CAS delete of a key that does not exist is `true`) and whether anything changed.
    mutating func delete(_ key: String, recurse: Bool, cas: UInt64?, at next: UInt64) -> (result: Bool, changed: Bool) {
        let doomed: [String]
        if recurse {
            doomed = entries.keys.filter { $0.hasPrefix(key) }
        } else if let entry = entries[key] {
            if let cas, entry.modifyIndex != cas { return (false, false) }
            doomed = [key]
        } else {
            return (true, false)
        }
        guard !doomed.isEmpty else { return (true, false) }
        for k in doomed {
            entries[k] = nil
            tombstones[k] = next
        }
        index = next
        return (true, true)
    }
}
