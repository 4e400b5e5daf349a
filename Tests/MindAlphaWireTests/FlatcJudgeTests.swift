import Foundation
import MindAlphaWire
import TestSupport
import Testing

/// Debian's `flatc` (installed by scripts/bootstrap.sh --tests) judges our FlatBuffers against the schema
/// restated in schema/*.fbs: it decodes what we build, and builds what we must decode.
@Suite struct FlatcJudgeTests {
    static let schemaDir = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schema")

    static func flatc(_ arguments: [String], in dir: URL) async throws {
        let result = try await Tool.exec("flatc", arguments, in: dir)
        guard result.status == 0 else {
            throw JudgeError("flatc \(arguments.joined(separator: " ")) failed (is flatbuffers-compiler installed? run scripts/bootstrap.sh --tests): \(result.stderr)\(result.stdout)")
        }
    }

    struct JudgeError: Error, CustomStringConvertible { var description: String; init(_ d: String) { description = d } }

    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flatc-judge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    // The JSON flatc prints, decoded exactly (JSONDecoder keeps every bit of a UInt64).
    struct JRequest: Decodable, Equatable {
        var algo_name: String
        var index_batchs: [JBatch]
        var version: String
    }
    struct JBatch: Decodable, Equatable {
        var rows: UInt64?
        var levels: UInt64?
        var names: [String]
        var columns: [JColumn]
        var last_level_index_tree: [JLevel]
    }
    struct JColumn: Decodable, Equatable { var level: UInt64?; var cells: [JCell] }
    struct JCell: Decodable, Equatable { var hash_codes: [UInt64] }
    struct JLevel: Decodable, Equatable { var indexs: [UInt64] }

    @Test func flatcDecodesOurRequest() async throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        var b = IndexBatchBuilder()
        b.addColumn("user_id", value: "265366bf", level: 0)
        b.addColumn("campaign", value: "b1feb7c7", level: 1)
        b.addColumnArray("creative", values: ["é", "none", "abc"], level: 2)
        b.addColumn("creative_empty", value: "", level: 2)
        let request = Request(algoName: "demo_model", indexBatches: [b.build()])
        try Data(request.flatBuffer()).write(to: dir.appendingPathComponent("req.bin"))
        try await Self.flatc(["--json", "--strict-json", "--raw-binary", "-o", dir.path,
                        Self.schemaDir.appendingPathComponent("request.fbs").path, "--", "req.bin"], in: dir)
        let json = try Data(contentsOf: dir.appendingPathComponent("req.json"))
        let decoded = try JSONDecoder().decode(JRequest.self, from: json)
        let expected = JRequest(
            algo_name: "demo_model",
            index_batchs: [JBatch(
                rows: 1, levels: 3,
                names: ["user_id", "campaign", "creative", "creative_empty"],
                columns: [
                    JColumn(level: nil, cells: [JCell(hash_codes: [33_378_102_259_615_746])]),  // level 0 is left out
                    JColumn(level: 1, cells: [JCell(hash_codes: [65_133_743_764_055_467])]),
                    JColumn(level: 2, cells: [JCell(hash_codes: [18_446_744_073_709_543_538, 1_677_554])]),
                    JColumn(level: 2, cells: [JCell(hash_codes: [])]),
                ],
                last_level_index_tree: [JLevel(indexs: [0]), JLevel(indexs: [0]), JLevel(indexs: [0])])],
            version: "v2")
        #expect(decoded == expected)
    }

    @Test func weReadAResponseBuiltByFlatc() async throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = #"{"version": "v2", "tensor": {"values": [-1, 2, 127], "scores": [0.5, 0.125, -3.0, 1e-7]}, "debug_info": "warm-up ✓"}"#
        try json.write(to: dir.appendingPathComponent("resp.json"), atomically: true, encoding: .utf8)
        try await Self.flatc(["--binary", "-o", dir.path, Self.schemaDir.appendingPathComponent("response.fbs").path, "resp.json"], in: dir)
        let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent("resp.bin")))
        let response = try Response(flatBuffer: bytes)
        #expect(response == Response(version: "v2", tensor: .init(values: [-1, 2, 127], scores: [0.5, 0.125, -3.0, 1e-7]), debugInfo: "warm-up ✓"))
    }

    @Test func flatcDecodesOurResponse() async throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let response = Response(version: "v2", tensor: .init(scores: [0.75, 0.25]), debugInfo: "x")
        try Data(response.flatBuffer()).write(to: dir.appendingPathComponent("resp.bin"))
        try await Self.flatc(["--json", "--strict-json", "--raw-binary", "-o", dir.path,
                        Self.schemaDir.appendingPathComponent("response.fbs").path, "--", "resp.bin"], in: dir)
        struct JResponse: Decodable, Equatable {
            struct T: Decodable, Equatable { var values: [Int8]; var scores: [Float] }
            var version: String; var tensor: T; var debug_info: String
        }
        let decoded = try JSONDecoder().decode(JResponse.self, from: Data(contentsOf: dir.appendingPathComponent("resp.json")))
        #expect(decoded == JResponse(version: "v2", tensor: .init(values: [], scores: [0.75, 0.25]), debug_info: "x"))
    }
}
