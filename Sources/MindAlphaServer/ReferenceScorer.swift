import MindAlphaWire

/// The reference server's "model": one score per row, in [0, 1), a pure function of the hash codes that row
/// sees in every column (cells expanded through the index tree as the Go client expands them). The same
/// request always gets the same scores.
public enum ReferenceScorer {
    /// The response to a decoded request: scores for every row of every batch, or `debug_info` naming
    /// what is missing when there is nothing to score.
    public static func response(to request: Request) -> Response {
        guard !request.indexBatches.isEmpty else {
            return Response(tensor: .init(scores: []), debugInfo: "request for model '\(request.algoName)' has no index batch")
        }
        var scores: [Float] = []
        for batch in request.indexBatches { scores += self.scores(for: batch, model: request.algoName) }
        return Response(tensor: .init(scores: scores))
    }

    /// One score per row of `batch`. The row count is `rows`, bounded by the cells actually sent (at least 1),
    /// so a request cannot ask for more scores than its size justifies.
    public static func scores(for batch: IndexBatch, model: String) -> [Float] {
        let seed = bkdrHash(model)
        // A loop, not `map(\.cells.count)`: a key path is projected at run time, per request (7 % of serve's time).
        var sent = 1
        for column in batch.columns { sent = max(sent, column.cells.count) }
        let rows = Int(clamping: min(batch.rows, UInt64(sent)))
        return (0..<rows).map { row in
            var h = mix(seed)
            for column in batch.columns.indices {
                h = mix(h ^ UInt64(column))
                for code in batch.cell(row: row, column: column) ?? [] { h = mix(h ^ code) }
            }
            return Float(h >> 40) * 0x1p-24
        }
    }

    /// SplitMix64's finaliser.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
