/// Builds an ``IndexBatch`` with the Go client's rules (docs/protocol.md §5.4–§5.5).
///
/// Columns are created on first use, in that order, at the level given then (a later level is ignored).
/// Every append adds one cell. A level's index-tree entry grows, with that call's `pre`, only when a column of
/// that level reaches a new row count.
public struct IndexBatchBuilder: Sendable {
    public let levels: Int
    private var names: [String] = []
    private var columnIndex: [String: Int] = [:]
    private var columns: [IndexBatch.Column] = []
    private var tree: [[UInt64]]

    /// - Parameter levels: the number of levels; the service expects 3 (request/user, campaign, creative).
    public init(levels: Int = 3) {
        precondition(levels > 0, "an IndexBatch needs at least one level")
        self.levels = levels
        self.tree = Array(repeating: [], count: levels)
    }

    /// Whether a value is left out of a cell: `""` and `"none"`.
    @inlinable
    public static func isEmptyValue<S: StringProtocol>(_ value: S) -> Bool { value.isEmpty || value == "none" }

    /// Appends one cell: empty for `""` or `"none"`, otherwise the hash of the whole string (no split).
    public mutating func addColumn(_ name: String, value: String, level: Int, pre: UInt64 = 0) {
        append(name, cell: Self.isEmptyValue(value) ? [] : [bkdrHash(value)], level: level, pre: pre)
    }

    /// Appends one cell holding the hash of each value that is not `""` or `"none"`; an empty list is `["none"]`.
    public mutating func addColumnArray(_ name: String, values: [String], level: Int, pre: UInt64 = 0) {
        append(name, cell: values.filter { !Self.isEmptyValue($0) }.map(bkdrHash), level: level, pre: pre)
    }

    /// Appends a field as the CSV loader does: split on `\u{1}`, empty and `"none"` parts dropped.
    public mutating func addCSVField(_ name: String, field: Substring, level: Int = 2, pre: UInt64 = 0) {
        let parts = field.split(separator: "\u{1}", omittingEmptySubsequences: true)
        append(name, cell: parts.filter { !Self.isEmptyValue($0) }.map { bkdrHash(String($0)) }, level: level, pre: pre)
    }

    /// Appends one row of the Go client's feature CSV: fields separated by `\u{2}`, one per name in `columns`,
    /// all at level 2 with `pre = 0`; with `hasLabel`, the first field is a label and is skipped.
    /// Throws when the field count does not match.
    public mutating func addCSVRow(_ line: Substring, columns names: [String], hasLabel: Bool = false) throws(FeatureRowError) {
        var fields = line.split(separator: "\u{2}", omittingEmptySubsequences: false)
        if hasLabel, !fields.isEmpty { fields.removeFirst() }
        guard fields.count == names.count else {
            throw FeatureRowError(expected: names.count, got: fields.count)
        }
        for (name, field) in zip(names, fields) { addCSVField(name, field: field) }
    }

    private mutating func append(_ name: String, cell: [UInt64], level: Int, pre: UInt64) {
        precondition((0..<levels).contains(level), "level \(level) outside 0..<\(levels)")
        let index: Int
        if let existing = columnIndex[name] {
            index = existing
        } else {
            index = columns.count
            columnIndex[name] = index
            names.append(name)
            columns.append(.init(level: UInt64(level), cells: []))
        }
        columns[index].cells.append(cell)
        let fixedLevel = Int(columns[index].level)
        if columns[index].cells.count > tree[fixedLevel].count { tree[fixedLevel].append(pre) }
    }

    /// The batch: `rows` is the largest cell count of any column.
    public func build() -> IndexBatch {
        IndexBatch(
            rows: UInt64(columns.map { $0.cells.count }.max() ?? 0),
            levels: UInt64(levels),
            names: names,
            columns: columns,
            lastLevelIndexTree: tree)
    }
}

/// A feature CSV line whose field count does not match the column names.
public struct FeatureRowError: Error, Hashable, Sendable, CustomStringConvertible {
    public var expected: Int
    public var got: Int

    public init(expected: Int, got: Int) {
        self.expected = expected
        self.got = got
    }

    public var description: String {
        "feature row has \(got) fields but \(expected) column names are given (fields are separated by \\u0002)"
    }
}
