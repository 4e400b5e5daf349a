import MindAlphaWire
import NIOCore
import Testing

@Suite struct FlatBufferTests {
    static let request = Request(algoName: "demo_model", indexBatches: [IndexBatchBuilderTests.sevenRows()])

    @Test func requestRoundTrips() throws {
        let bytes = Self.request.flatBuffer()
        #expect(try Request(flatBuffer: bytes) == Self.request)
    }

    @Test func requestLayoutMatchesTheGoClient() throws {
        // docs/protocol.md §8: the root table stores version at field offset 4, algo_name at 8, index_batchs at 12.
        let bytes = Self.request.flatBuffer()
        let root = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        let soffset = Int(Int32(bitPattern: UInt32(bytes[root]) | UInt32(bytes[root + 1]) << 8 | UInt32(bytes[root + 2]) << 16 | UInt32(bytes[root + 3]) << 24))
        let vtable = root - soffset
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        #expect(u16(vtable) == 10)
        #expect([u16(vtable + 4), u16(vtable + 6), u16(vtable + 8)] == [8, 12, 4])
        #expect(bytes.count % 4 == 0)
    }

    @Test func responseRoundTrips() throws {
        let cases = [
            Response(version: "v2", tensor: .init(values: [1, -2], scores: [0.25, -1.5, .greatestFiniteMagnitude])),
            Response(version: "v2", tensor: nil, debugInfo: "model not loaded"),
            Response(version: nil, tensor: .init(scores: [])),
        ]
        for response in cases {
            #expect(try Response(flatBuffer: response.flatBuffer()) == response)
        }
    }

    @Test func identicalVtablesAreShared() {
        // 1,000 cells share one vtable: the buffer grows by the cells' data, not by their vtables.
        let one = Request(algoName: "m", indexBatches: [IndexBatch(rows: 1, levels: 3, names: ["a"], columns: [.init(level: 2, cells: [[1]])], lastLevelIndexTree: [[], [], [0]])])
        let many = Request(algoName: "m", indexBatches: [IndexBatch(rows: 1000, levels: 3, names: ["a"], columns: [.init(level: 2, cells: Array(repeating: [1], count: 1000))], lastLevelIndexTree: [[], [], [0]])])
        let perCell = (many.flatBuffer().count - one.flatBuffer().count) / 999
        #expect(perCell <= 28)  // hash vector 16, cell table 8, its offset 4; a vtable each would add 8
    }

    @Test func truncatedBuffersNeverTrap() {
        let bytes = Self.request.flatBuffer()
        for length in 0..<bytes.count {
            #expect(throws: FlatBufferError.self) { try Request(flatBuffer: Array(bytes.prefix(length))) }
        }
    }

    @Test func corruptedBuffersNeverTrap() {
        // Every single-byte corruption, at every position, with a few values: decode or throw, never trap.
        let bytes = Self.request.flatBuffer() + Response(tensor: .init(scores: [1, 2])).flatBuffer()
        var decoded = 0
        for position in bytes.indices {
            for value: UInt8 in [0x00, 0x01, 0x7F, 0x80, 0xFF, bytes[position] ^ 0x04] {
                var mutated = bytes
                mutated[position] = value
                if (try? Request(flatBuffer: mutated)) != nil { decoded += 1 }
                _ = try? Response(flatBuffer: mutated)
            }
        }
        #expect(decoded > 0)  // many corruptions only change a value
    }

    @Test func randomBuffersNeverTrap() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0..<200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? Request(flatBuffer: bytes)
            _ = try? Response(flatBuffer: bytes)
        }
    }

    @Test func aliasedOffsetsAreBoundedByTheBufferSize() throws {
        // A vector of many offsets to the same large vector must not cost more than the buffer's size.
        var b = FlatBufferBuilder()
        let codes = b.createVector([UInt64](repeating: 7, count: 1000))
        b.startTable(fieldCount: 1)
        b.add(codes, slot: 0)
        let cell = b.endTable()
        let cells = b.createVector([FlatBufferBuilder.Offset](repeating: cell, count: 2000))
        b.startTable(fieldCount: 2)
        b.add(cells, slot: 1)
        let column = b.endTable()
        let columns = b.createVector([column])
        b.startTable(fieldCount: 5)
        b.add(columns, slot: 3)
        let batch = b.endTable()
        let batches = b.createVector([batch])
        b.startTable(fieldCount: 3)
        b.add(batches, slot: 1)
        let root = b.endTable()
        let bytes = b.finish(root: root)
        #expect(throws: FlatBufferError.self) { try Request(flatBuffer: bytes) }
    }

    @Test func readerHonoursTheBufferSlice() throws {
        var buffer = ByteBuffer(bytes: [9, 9, 9])
        buffer.writeBytes(Response(tensor: .init(scores: [0.5])).flatBuffer())
        buffer.moveReaderIndex(forwardBy: 3)
        #expect(try Response(flatBuffer: buffer).scores == [0.5])
    }
}
