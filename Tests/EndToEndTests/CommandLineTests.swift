import Foundation
import Testing
import TestSupport

/// The built binary: exit codes, and what goes to stdout and what to stderr.
@Suite struct CommandLineTests {
    @Test func topLevelHelp() async throws {
        let r = try await Tool.run(["--help"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("mindalpha-pool "))
        #expect(r.stdout.contains("serve"))
        #expect(r.stdout.contains("64 usage error"))
        #expect(r.stderr.isEmpty)
    }

    @Test func commandHelpHasThreeSpellings() async throws {
        let a = try await Tool.run(["help", "serve"])
        let b = try await Tool.run(["serve", "--help"])
        let c = try await Tool.run(["serve", "-h"])
        #expect(a.status == 0)
        #expect(a.stdout == b.stdout)
        #expect(b.stdout == c.stdout)
        #expect(a.stdout.contains("--latency DURATION[..DURATION]"))
        #expect(a.stdout.contains("Usage: mindalpha-pool serve"))
    }

    @Test func version() async throws {
        let r = try await Tool.run(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout.range(of: #"^mindalpha-pool \d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil)
    }

    @Test func unknownCommandIsExit64WithASuggestionAndUsage() async throws {
        let r = try await Tool.run(["srve"])
        #expect(r.status == 64)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr == "mindalpha-pool: unknown command 'srve'; did you mean 'serve'?\nUsage: mindalpha-pool <command> [options]\n")
    }

    @Test func unknownOptionIsExit64WithTheCommandsUsage() async throws {
        let r = try await Tool.run(["serve", "--listn", "127.0.0.1:0"])
        #expect(r.status == 64)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.first == "mindalpha-pool: unknown option '--listn'; did you mean '--listen'?")
        #expect(lines.count == 2)
        #expect(lines.last?.hasPrefix("Usage: mindalpha-pool serve") == true)
    }

    @Test func badValueNamesOptionValueAndExpectation() async throws {
        let r = try await Tool.run(["serve", "--latency", "5x"])
        #expect(r.status == 64)
        #expect(r.stderr.hasPrefix("mindalpha-pool: --latency: '5x' is not a duration or a range (e.g. 2ms, 1ms..5ms)\n"))
    }

    @Test func crossOptionErrorsAreUsageErrors() async throws {
        for args in [
            ["serve", "--listen", "127.0.0.1:0", "--instances", "2"],
            ["serve", "--port", "65535", "--instances", "2"],
            ["serve", "--response-size", "0"],
            ["serve", "--drop-rate", "0.6", "--close-rate", "0.6"],
        ] {
            let r = try await Tool.run(args)
            #expect(r.status == 64, "\(args)")
            #expect(r.stderr.split(separator: "\n").count == 2, "\(args): \(r.stderr)")
        }
    }

    @Test func noCommandIsExit64() async throws {
        let r = try await Tool.run([])
        #expect(r.status == 64)
        #expect(r.stderr.contains("no command given"))
    }
}
