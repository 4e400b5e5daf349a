/// A prediction request: the FlatBuffers root `Request` (docs/protocol.md §5.2).
public struct Request: Hashable, Sendable {
    /// The model name (`algo_name`).
    public var algoName: String
    /// The batches; the Go client sends exactly one.
    public var indexBatches: [IndexBatch]
    /// The payload version; the Go client sends `"v2"`.
    public var version: String

    public init(algoName: String, indexBatches: [IndexBatch], version: String = "v2") {
        self.algoName = algoName
        self.indexBatches = indexBatches
        self.version = version
    }
}

/// The features of a batch of rows, by level (docs/protocol.md §5.4).
public struct IndexBatch: Hashable, Sendable {
    /// The batch size: the largest cell count of any column.
    public var rows: UInt64
    /// The number of levels (3: request/user, campaign, creative).
    public var levels: UInt64
    /// `names[i]` labels `columns[i]`.
    public var names: [String]
    public var columns: [Column]
    /// `levels` entries; entry j, position r, is the parent row (at level j−1) of row r at level j.
    public var lastLevelIndexTree: [[UInt64]]

    public init(rows: UInt64, levels: UInt64, names: [String], columns: [Column], lastLevelIndexTree: [[UInt64]]) {
        self.rows = rows
        self.levels = levels
        self.names = names
        self.columns = columns
        self.lastLevelIndexTree = lastLevelIndexTree
    }

    /// One column: its level and one cell of BKDR hash codes per appended value.
    public struct Column: Hashable, Sendable {
        public var level: UInt64
        public var cells: [[UInt64]]

        public init(level: UInt64, cells: [[UInt64]]) {
            self.level = level
            self.cells = cells
        }
    }

    /// The cell of `column` that final row `row` uses, expanded as the Go client's `GetCellAt` does:
    /// the last level by row, level 0 always cell 0, other levels through the index tree.
    /// `nil` when the batch does not have that cell.
    public func cell(row: Int, column: Int) -> [UInt64]? {
        guard columns.indices.contains(column) else { return nil }
        let col = columns[column]
        let level = Int(clamping: col.level)
        var r = row
        if level == 0 {
            r = 0
        } else if levels > 0, level < Int(clamping: levels) - 1 {
            // Levels past the tree have no index to follow: start at the tree's last (a `levels` of 2^64 − 1 read
            // from a damaged request would otherwise be counted down one by one).
            var k = min(Int(clamping: levels), lastLevelIndexTree.count) - 1
            while k > level {
                if lastLevelIndexTree.indices.contains(k), !lastLevelIndexTree[k].isEmpty {
                    guard lastLevelIndexTree[k].indices.contains(r) else { return nil }
                    r = Int(clamping: lastLevelIndexTree[k][r])
                }
                k -= 1
            }
        }
        return col.cells.indices.contains(r) ? col.cells[r] : nil
    }
}
