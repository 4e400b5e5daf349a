import Foundation
import MindAlphaFuzz
import Testing

/// Every input of the fuzz corpus (`Tests/Fuzz/corpus/<target>/`: the seeds, and each crash the fuzzers found,
/// kept as a regression) through its target, in the normal build: none may trap or hang.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz/corpus")

    @Test(arguments: FuzzTarget.allCases)
    func everyInputOfTheCorpusIsHandled(_ target: FuzzTarget) throws {
        let dir = Self.corpus.appendingPathComponent(target.rawValue)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(files.count >= 3, "a corpus of seeds for \(target.rawValue)")
        for file in files {
            target.run(Array(try Data(contentsOf: dir.appendingPathComponent(file))))
        }
    }
}
