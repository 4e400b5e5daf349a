import MindAlphaWire
import Testing

@Suite struct IndexBatchBuilderTests {
    /// The README's example: one user, three campaigns, seven creatives.
    static func sevenRows() -> IndexBatch {
        var b = IndexBatchBuilder()
        b.addColumn("user_id", value: "u1", level: 0)
        for c in ["c1", "c2", "c3"] { b.addColumn("campaign_id", value: c, level: 1, pre: 0) }
        for (creative, parent) in [("k1", 0), ("k2", 0), ("k3", 1), ("k4", 1), ("k5", 2), ("k6", 2), ("k7", 2)] {
            b.addColumn("creative_id", value: creative, level: 2, pre: UInt64(parent))
        }
        return b.build()
    }

    @Test func readmeExample() {
        let batch = Self.sevenRows()
        #expect(batch.rows == 7)
        #expect(batch.levels == 3)
        #expect(batch.names == ["user_id", "campaign_id", "creative_id"])
        #expect(batch.lastLevelIndexTree == [[0], [0, 0, 0], [0, 0, 1, 1, 2, 2, 2]])
        #expect(batch.columns.map(\.level) == [0, 1, 2])
    }

    @Test func cellExpansionFollowsTheTree() {
        let batch = Self.sevenRows()
        // Level 0 is always cell 0; level 1 goes through the level-2 entry; level 2 is by row.
        for row in 0..<7 {
            #expect(batch.cell(row: row, column: 0) == [bkdrHash("u1")])
            #expect(batch.cell(row: row, column: 2) == [bkdrHash("k\(row + 1)")])
        }
        #expect(batch.cell(row: 3, column: 1) == [bkdrHash("c2")])
        #expect(batch.cell(row: 6, column: 1) == [bkdrHash("c3")])
        #expect(batch.cell(row: 7, column: 2) == nil)
        #expect(batch.cell(row: 0, column: 9) == nil)
    }

    @Test func emptyAndNoneGiveEmptyCells() {
        var b = IndexBatchBuilder()
        b.addColumn("a", value: "", level: 2)
        b.addColumn("a", value: "none", level: 2)
        b.addColumn("a", value: "x\u{1}y", level: 2)  // no split outside the CSV loader
        b.addColumnArray("b", values: [], level: 2)
        b.addColumnArray("b", values: ["p", "none", "", "q"], level: 2)
        let batch = b.build()
        #expect(batch.columns[0].cells == [[], [], [bkdrHash("x\u{1}y")]])
        #expect(batch.columns[1].cells == [[], [bkdrHash("p"), bkdrHash("q")]])
        #expect(batch.rows == 3)
    }

    @Test func columnLevelIsFixedAtCreation() {
        var b = IndexBatchBuilder()
        b.addColumn("a", value: "1", level: 1, pre: 5)
        b.addColumn("a", value: "2", level: 2, pre: 6)
        let batch = b.build()
        #expect(batch.columns[0].level == 1)
        #expect(batch.lastLevelIndexTree == [[], [5, 6], []])
    }

    @Test func laterPreForTheSameRowIsIgnored() {
        var b = IndexBatchBuilder()
        b.addColumn("a", value: "1", level: 2, pre: 1)
        b.addColumn("b", value: "2", level: 2, pre: 9)
        #expect(b.build().lastLevelIndexTree == [[], [], [1]])
    }

    @Test func csvRowsSplitOnU0001() throws {
        var b = IndexBatchBuilder()
        try b.addCSVRow("label\u{2}a\u{1}none\u{1}\u{1}b\u{2}\u{2}none", columns: ["x", "y", "z"], hasLabel: true)
        let batch = b.build()
        #expect(batch.names == ["x", "y", "z"])
        #expect(batch.columns.map(\.cells) == [[[bkdrHash("a"), bkdrHash("b")]], [[]], [[]]])
        #expect(batch.columns.allSatisfy { $0.level == 2 })
    }

    @Test func csvRowWithWrongFieldCountIsAnError() {
        var b = IndexBatchBuilder()
        #expect(throws: FeatureRowError(expected: 3, got: 2)) {
            try b.addCSVRow("a\u{2}b", columns: ["x", "y", "z"])
        }
    }
}
