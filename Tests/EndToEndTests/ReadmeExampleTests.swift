import Foundation
import MindAlphaDiscovery
import MindAlphaPool
import TestSupport
import Testing

/// Every example command of the README runs, against a local fleet that stands in for the one it names: Consul
/// (`CONSUL_HTTP_ADDR`) with `ms-serving` registered, and instances where it writes 127.0.0.1:9000, :9001, :9002.
/// Long runs are shortened (`--duration 1s`), servers are stopped after 2 s; an example whose output the README
/// shows and that depends on nothing but its arguments (schedule, usage errors) must print exactly that.
@Suite struct ReadmeExampleTests {
    struct Example {
        var command: String
        /// The lines the README shows after it, up to the next command.
        var shown: [String]
    }

    /// Commands of ```console blocks (`$ ` lines, with what follows them) and of ```sh blocks (lines that run the
    /// tool), trailing `  # comments` dropped.
    static func examples(_ readme: String) -> [Example] {
        var out: [Example] = []
        for block in readme.matches(of: /```(console|sh)\n((?:.|\n)*?)```/) {
            let console = block.1 == "console"
            var indent = 0
            for line in block.2.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
                let text = line.trimmingCharacters(in: .whitespaces)
                if console, text.hasPrefix("$ ") {
                    indent = line.prefix { $0 == " " }.count
                    out.append(Example(command: strip(String(text.dropFirst(2))), shown: []))
                } else if console, !out.isEmpty, !text.isEmpty {
                    out[out.count - 1].shown.append(String(line.dropFirst(min(indent, line.prefix { $0 == " " }.count))))
                } else if !console, text.hasPrefix("mindalpha-pool ") || text.contains("| mindalpha-pool ") || text.contains("<(mindalpha-pool ") {
                    out.append(Example(command: strip(text), shown: []))
                }
            }
        }
        return out
    }

    static func strip(_ command: String) -> String {
        guard let comment = command.range(of: "  #") else { return command }
        return String(command[..<comment.lowerBound]).trimmingCharacters(in: .whitespaces)
    }

    @Test func everyExampleInTheReadmeRuns() async throws {
        let readme = try String(contentsOf: Tool.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let examples = Self.examples(readme)
        // Every command has an example.
        for command in ["discover", "schedule", "bench", "report", "repl", "serve", "consul-dev", "demo", "completions"] {
            #expect(examples.contains { $0.command.contains("mindalpha-pool \(command) ") }, "the README has no example of \(command)")
        }
        let (server, ports) = try await BenchTests.serve(3)
        defer { server.terminate() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withDevAgent { agent, client in
            for (port, weight) in zip(ports, [100, 200, 300]) {
                try await client.register(ServiceRegistration(id: "ms-\(port)", name: "ms-serving", address: "127.0.0.1", port: port, weight: weight, check: nil))
            }
            var ran = 0
            for example in examples {
                var command = example.command
                for (index, port) in ports.enumerated() { command = command.replacingOccurrences(of: "127.0.0.1:\(9000 + index)", with: "127.0.0.1:\(port)") }
                command = command.replacingOccurrences(of: "127.0.0.1:8500", with: "127.0.0.1:0")
                    .replacingOccurrences(of: "--port 9000", with: "--port 0")
                    .replacing(/--duration \S+/, with: "--duration 1s")
                // Reports to merge are made as the README says: by bench --json, on "several hosts" at the same moment.
                let missing = command.matches(of: /([\w-]+\.json)/).map({ String($0.1) })
                    .filter { command.contains("report ") && !FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path) }
                if !missing.isEmpty {
                    let runs = missing.map { "\"$BIN\" bench --target 127.0.0.1:\(ports[0]) --duration 1s --start-at \"$start\" --json > \($0) &" }
                    let made = try await Tool.shell("cd \(dir.path); start=$(date -u -d '+1 second' +%Y-%m-%dT%H:%M:%S.%3NZ); \(runs.joined(separator: " ")) wait")
                    #expect(made.status == 0 && made.stderr.isEmpty, "\(made.stderr)")
                }
                let documentedError = example.shown.first?.hasPrefix("mindalpha-pool: ") == true
                let endless = !documentedError && (command.contains("mindalpha-pool serve") || command.contains("consul-dev") || command.contains("--watch"))
                let script = """
                export HOME=\(dir.path) CONSUL_HTTP_ADDR=\(agent.address) PATH=\(Tool.binary.deletingLastPathComponent().path):$PATH
                cd \(dir.path)
                \(endless ? "timeout --preserve-status -s INT 2 bash -c \(ReplTests.Terminal.quote(command))" : command)
                """
                let result = try await Tool.shell(script, timeout: 120)
                ran += 1
                let output = (result.stdout + result.stderr).split(separator: "\n").map(String.init)
                if documentedError {
                    #expect(result.status == 64, "\(example.command): \(result.stderr)")
                } else if endless {
                    #expect([0, 130].contains(result.status), "\(example.command) → \(result.status): \(result.stderr)")
                } else {
                    let thresholds = command.contains("--fail-if") || command.contains("--strict")
                    #expect(result.status == 0 || (thresholds && result.status == 2), "\(example.command) → \(result.status): \(result.stderr)")
                }
                #expect(documentedError || !result.stderr.contains("unknown option") && !result.stderr.contains("unknown command"), "\(example.command): \(result.stderr)")
                if documentedError || command.hasPrefix("mindalpha-pool schedule --weights") {
                    #expect(output == example.shown, "\(example.command) no longer prints what the README shows")
                }
            }
            #expect(ran >= 15, "only \(ran) examples found")
        }
    }
}
