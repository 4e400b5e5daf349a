import NIOCore

/// The fields' slots of a `Request` FlatBuffer (docs/protocol.md §5.2): field order in the schema decides them.
/// Shared with the reference server, which scores a request where it lies.
package enum RequestSlot {
    package enum Cell { package static let hashCodes = 0 }
    package enum Column { package static let level = 0, cells = 1 }
    package enum LevelIndex { package static let indexs = 0 }
    package enum IndexBatch { package static let rows = 0, levels = 1, names = 2, columns = 3, tree = 4 }
    package enum Request { package static let algoName = 0, indexBatchs = 1, version = 2 }
}

extension Request {
    /// The FlatBuffer body, built in the Go client's order (docs/protocol.md §5.2) so the bytes match it.
    public func flatBuffer() -> [UInt8] {
        var b = FlatBufferBuilder()
        var batches: [FlatBufferBuilder.Offset] = []
        for batch in indexBatches {
            var columns: [FlatBufferBuilder.Offset] = []
            for column in batch.columns {
                var cells: [FlatBufferBuilder.Offset] = []
                for cell in column.cells {
                    let codes = b.createVector(cell)
                    b.startTable(fieldCount: 1)
                    b.add(codes, slot: RequestSlot.Cell.hashCodes)
                    cells.append(b.endTable())
                }
                let cellVector = b.createVector(cells)
                b.startTable(fieldCount: 2)
                b.add(cellVector, slot: RequestSlot.Column.cells)
                b.add(column.level, slot: RequestSlot.Column.level)
                columns.append(b.endTable())
            }
            let columnVector = b.createVector(columns)
            let names = batch.names.map { b.createString($0) }
            let nameVector = b.createVector(names)
            var levels: [FlatBufferBuilder.Offset] = []
            for entry in batch.lastLevelIndexTree {
                let indexs = b.createVector(entry)
                b.startTable(fieldCount: 1)
                b.add(indexs, slot: RequestSlot.LevelIndex.indexs)
                levels.append(b.endTable())
            }
            let tree = b.createVector(levels)
            b.startTable(fieldCount: 5)
            b.add(batch.rows, slot: RequestSlot.IndexBatch.rows)
            b.add(batch.levels, slot: RequestSlot.IndexBatch.levels)
            b.add(nameVector, slot: RequestSlot.IndexBatch.names)
            b.add(columnVector, slot: RequestSlot.IndexBatch.columns)
            b.add(tree, slot: RequestSlot.IndexBatch.tree)
            batches.append(b.endTable())
        }
        let batchVector = b.createVector(batches)
        let algo = b.createString(algoName)
        let version = b.createString(self.version)
        b.startTable(fieldCount: 3)
        b.add(batchVector, slot: RequestSlot.Request.indexBatchs)
        b.add(algo, slot: RequestSlot.Request.algoName)
        b.add(version, slot: RequestSlot.Request.version)
        let root = b.endTable()
        return b.finish(root: root)
    }

    /// Reads a `Request` FlatBuffer from the buffer's readable bytes. Absent strings read as `""`.
    public init(flatBuffer buffer: ByteBuffer) throws(FlatBufferError) {
        var r = FlatBufferReader(buffer)
        let root = try r.root()
        var batches: [IndexBatch] = []
        for t in try r.tables(root, slot: RequestSlot.Request.indexBatchs) {
            var columns: [IndexBatch.Column] = []
            for c in try r.tables(t, slot: RequestSlot.IndexBatch.columns) {
                var cells: [[UInt64]] = []
                for cell in try r.tables(c, slot: RequestSlot.Column.cells) {
                    cells.append(try r.scalars(cell, slot: RequestSlot.Cell.hashCodes, as: UInt64.self))
                }
                columns.append(.init(level: try r.scalar(c, slot: RequestSlot.Column.level, as: UInt64.self), cells: cells))
            }
            var tree: [[UInt64]] = []
            for level in try r.tables(t, slot: RequestSlot.IndexBatch.tree) {
                tree.append(try r.scalars(level, slot: RequestSlot.LevelIndex.indexs, as: UInt64.self))
            }
            batches.append(IndexBatch(
                rows: try r.scalar(t, slot: RequestSlot.IndexBatch.rows, as: UInt64.self),
                levels: try r.scalar(t, slot: RequestSlot.IndexBatch.levels, as: UInt64.self),
                names: try r.strings(t, slot: RequestSlot.IndexBatch.names),
                columns: columns,
                lastLevelIndexTree: tree))
        }
        self.init(
            algoName: try r.string(root, slot: RequestSlot.Request.algoName) ?? "",
            indexBatches: batches,
            version: try r.string(root, slot: RequestSlot.Request.version) ?? "")
    }

    /// Reads a `Request` FlatBuffer from bytes.
    public init(flatBuffer bytes: [UInt8]) throws(FlatBufferError) {
        try self.init(flatBuffer: ByteBuffer(bytes: bytes))
    }
}
