import MindAlphaWire
import NIOCore

private typealias Slot = RequestSlot

extension ReferenceScorer {
    /// The response to a `Request` FlatBuffer, scored where it lies: the same scores as
    /// `response(to: Request(flatBuffer: body))`, and the same error for a malformed buffer (every field that
    /// decoding reads is read and checked here too, on the same work budget), without building the request's
    /// arrays of arrays — which was most of the reference server's time per prediction request.
    public static func response(toFlatBuffer body: ByteBuffer) throws(FlatBufferError) -> Response {
        var r = FlatBufferReader(body)
        let root = try r.root()
        var batches: [Batch] = []
        for t in try r.tables(root, slot: Slot.Request.indexBatchs) { batches.append(try Batch(t, reader: &r)) }
        let model = try r.string(root, slot: Slot.Request.algoName) ?? ""
        _ = try r.string(root, slot: Slot.Request.version)
        guard !batches.isEmpty else {
            return Response(tensor: .init(scores: []), debugInfo: "request for model '\(model)' has no index batch")
        }
        let seed = bkdrHash(model)
        var scores: [Float] = []
        for batch in batches { try batch.score(seed: seed, reader: r, into: &scores) }
        return Response(tensor: .init(scores: scores))
    }

    /// An index batch as positions in the buffer: per column its level and its cells' hash-code vectors, and the
    /// index tree's vectors (`start`, `count`; `start` -1: absent).
    private struct Batch {
        var rows: UInt64 = 0
        var levels: UInt64 = 0
        var columnLevels: [UInt64] = []
        /// `cellStart[c]` is column c's first entry in `cells`; `cellStart[columns]` the end.
        var cellStart: [Int] = [0]
        var cells: [Span] = []
        var tree: [Span] = []

        /// A vector in the buffer (a struct, not a tuple: an array of tuples looks its type up at run time).
        struct Span {
            var start: Int
            var count: Int

            init(start: Int, count: Int) {
                self.start = start
                self.count = count
            }

            /// A vector field of `UInt64`s, checked as `scalars(_:slot:as:)` checks it; absent: start -1, count 0.
            init(_ table: FlatBufferReader.Table, slot: Int, reader r: inout FlatBufferReader) throws(FlatBufferError) {
                guard let at = try r.reference(table, slot: slot) else {
                    self.init(start: -1, count: 0)
                    return
                }
                let (n, start) = try r.vector(at: at, elementSize: 8)
                self.init(start: start, count: n)
            }
        }

        /// Reads what `Request(flatBuffer:)` reads of a batch, in its order (the work budget is spent alike).
        init(_ t: FlatBufferReader.Table, reader r: inout FlatBufferReader) throws(FlatBufferError) {
            for c in try r.tables(t, slot: Slot.IndexBatch.columns) {
                for cell in try r.tables(c, slot: Slot.Column.cells) {
                    cells.append(try Span(cell, slot: Slot.Cell.hashCodes, reader: &r))
                }
                cellStart.append(cells.count)
                columnLevels.append(try r.uint64(c, slot: Slot.Column.level))
            }
            for level in try r.tables(t, slot: Slot.IndexBatch.tree) {
                tree.append(try Span(level, slot: Slot.LevelIndex.indexs, reader: &r))
            }
            rows = try r.uint64(t, slot: Slot.IndexBatch.rows)
            levels = try r.uint64(t, slot: Slot.IndexBatch.levels)
            try r.validateStrings(t, slot: Slot.IndexBatch.names)
        }

        /// ``ReferenceScorer/scores(for:model:)``, over the buffer.
        func score(seed: UInt64, reader r: FlatBufferReader, into scores: inout [Float]) throws(FlatBufferError) {
            var sent = 1
            for c in columnLevels.indices { sent = max(sent, cellStart[c + 1] - cellStart[c]) }
            let rowCount = Int(clamping: min(rows, UInt64(sent)))
            scores.reserveCapacity(scores.count + rowCount)
            for row in 0..<rowCount {
                var h = mix(seed)
                for column in columnLevels.indices {
                    h = mix(h ^ UInt64(column))
                    guard let cell = try self.cell(row: row, column: column, reader: r), cell.start >= 0 else { continue }
                    for i in 0..<cell.count { h = mix(h ^ (try r.uint64(at: cell.start + 8 * i))) }
                }
                scores.append(Float(h >> 40) * 0x1p-24)
            }
        }

        /// `IndexBatch.cell(row:column:)`, over the buffer.
        private func cell(row: Int, column: Int, reader r: FlatBufferReader) throws(FlatBufferError) -> Span? {
            let level = Int(clamping: columnLevels[column])
            var row = row
            if level == 0 {
                row = 0
            } else if levels > 0, level < Int(clamping: levels) - 1 {
                var k = min(Int(clamping: levels), tree.count) - 1  // as IndexBatch.cell: levels past the tree have no index
                while k > level {
                    if k < tree.count, tree[k].count > 0 {
                        guard row < tree[k].count else { return nil }
                        row = Int(clamping: try r.uint64(at: tree[k].start + 8 * row))
                    }
                    k -= 1
                }
            }
            let count = cellStart[column + 1] - cellStart[column]
            return row >= 0 && row < count ? cells[cellStart[column] + row] : nil
        }
    }
}
