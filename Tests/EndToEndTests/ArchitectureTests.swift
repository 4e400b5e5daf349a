import Foundation
import Testing
import TestSupport

/// The layers hold: each library module imports only what is below it (docs/architecture.md), so embedding the
/// pool pulls in neither Consul's HTTP client nor the bench's histograms.
@Suite struct ArchitectureTests {
    static let system: Set<String> = ["Foundation", "Glibc", "Darwin", "Musl", "Synchronization", "Dispatch"]

    /// What each module may import, beyond the system's.
    static let allowed: [String: Set<String>] = [
        "CommandLineKit": ["MindAlphaWire"],
        "MindAlphaWire": ["NIOCore"],
        "MindAlphaPool": ["MindAlphaWire", "CEpoll", "NIOCore", "NIOPosix", "NIOConcurrencyHelpers", "Logging"],
        "MindAlphaDiscovery": ["MindAlphaPool", "NIOCore", "NIOConcurrencyHelpers", "NIOPosix", "NIOHTTP1", "NIOSSL", "AsyncHTTPClient", "Logging"],
        "MindAlphaBench": ["MindAlphaPool", "MindAlphaWire", "NIOCore", "NIOPosix", "NIOConcurrencyHelpers", "Logging", "Histogram"],
        "MindAlphaServer": ["MindAlphaWire", "CEpoll", "NIOCore", "NIOPosix", "NIOConcurrencyHelpers", "Logging"],
        "ConsulDevAgent": ["MindAlphaWire", "NIOCore", "NIOPosix", "NIOHTTP1", "NIOConcurrencyHelpers", "Logging"],
        "MindAlphaREPL": ["MindAlphaPool", "MindAlphaBench", "MindAlphaWire", "CommandLineKit", "NIOCore", "NIOConcurrencyHelpers", "Logging", "Histogram"],
    ]

    static func imports(of module: String) throws -> [String: Set<String>] {
        let root = Tool.repository.appendingPathComponent("Sources/\(module)")
        var out: [String: Set<String>] = [:]
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
        for case let file as URL in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: /(?m)^(?:@testable |@_implementationOnly )?import (?:struct |enum |class )?([A-Za-z0-9_]+)/) {
                out[String(match.1), default: []].insert(file.lastPathComponent)
            }
        }
        return out
    }

    @Test func eachModuleImportsOnlyWhatIsBelowIt() throws {
        for (module, allowed) in Self.allowed {
            let imports = try Self.imports(of: module)
            #expect(!imports.isEmpty || module == "CommandLineKit", "no sources found for \(module)")
            for (name, files) in imports where !allowed.contains(name) && !Self.system.contains(name) {
                Issue.record("\(module) imports \(name) (in \(files.sorted().joined(separator: ", "))), which is not below it")
            }
        }
    }

    @Test func thePoolAloneNeedsNeitherConsulNorHistograms() throws {
        let imports = Set(try Self.imports(of: "MindAlphaPool").keys)
        #expect(imports.isDisjoint(with: ["AsyncHTTPClient", "NIOSSL", "NIOHTTP1", "Histogram", "MindAlphaDiscovery", "MindAlphaBench"]))
    }
}
