import CommandLineKit
import MindAlphaWire
import Testing

@Suite struct ParserTests {
    static let bench = CommandSpec(
        name: "bench", summary: "load",
        options: [
            OptionSpec("conns", short: "c", .integer(1...1000), help: "Connections.", default: "30"),
            OptionSpec("duration", short: "d", .duration, help: "How long.", default: "10s"),
            OptionSpec("target", short: "t", .hostPort, help: "Target.", repeatable: true),
            OptionSpec("json", .flag, help: "JSON."),
            OptionSpec("quiet", short: "q", .flag, help: "Quiet."),
            OptionSpec("payload-size", .size, help: "Body.", default: "64"),
            OptionSpec("rate", .rate, help: "Rate."),
            OptionSpec("latency", .durationRange, help: "Delay."),
            OptionSpec("algorithm", .choice(["lvs", "smooth"]), help: "WRR.", default: "lvs"),
            OptionSpec("service", .string, help: "Service.", environment: "MINDALPHA_SERVICE"),
            OptionSpec("error-rate", .number(0...1), help: "Errors.", default: "0"),
        ],
        positionals: [PositionalSpec("file", help: "A file.", optional: true)])

    func parse(_ words: [String], env: [String: String] = [:]) throws -> ParsedArguments {
        try Self.bench.parse(words, environment: env)
    }

    func message(_ words: [String], env: [String: String] = [:]) -> String? {
        do {
            _ = try parse(words, env: env)
            return nil
        } catch {
            return (error as? UsageError)?.message
        }
    }

    @Test func longShortAndInlineForms() throws {
        for words in [["--conns", "12"], ["--conns=12"], ["-c", "12"], ["-c12"]] {
            #expect(try parse(words).integer("conns") == 12, "\(words)")
        }
    }

    @Test func defaultsApplyAndAreMarked() throws {
        let args = try parse([])
        #expect(args.integer("conns") == 30)
        #expect(args.duration("duration") == .seconds(10))
        #expect(args.size("payload-size") == 64)
        #expect(args.string("algorithm") == "lvs")
        #expect(!args.isSet("conns"))
        #expect(args.source(of: "conns") == .defaultValue)
        #expect(args.value("rate") == nil)
        #expect(!args.flag("json"))
    }

    @Test func flagsAndClusteredShortFlags() throws {
        #expect(try parse(["--json"]).flag("json"))
        #expect(try parse(["--json=false"]).flag("json") == false)
        let clustered = try parse(["-qc", "5"])
        #expect(clustered.flag("quiet"))
        #expect(clustered.integer("conns") == 5)
    }

    @Test func repeatableOptionsAccumulateOthersKeepTheLast() throws {
        let args = try parse(["-t", "127.0.0.1:1", "--target", "[::1]:2", "--conns", "1", "--conns", "2"])
        #expect(args.hostPorts("target") == [HostPort(host: "127.0.0.1", port: 1), HostPort(host: "::1", port: 2)])
        #expect(args.integer("conns") == 2)
    }

    @Test func doubleDashEndsOptions() throws {
        let args = try parse(["--", "--json"])
        #expect(args.positionals == ["--json"])
        #expect(!args.flag("json"))
    }

    @Test func environmentFallsBackBelowTheCommandLine() throws {
        #expect(try parse([], env: ["MINDALPHA_SERVICE": "ms-serving"]).string("service") == "ms-serving")
        #expect(try parse([], env: ["MINDALPHA_SERVICE": "ms-serving"]).source(of: "service") == .environment("MINDALPHA_SERVICE"))
        #expect(try parse(["--service", "cli"], env: ["MINDALPHA_SERVICE": "env"]).string("service") == "cli")
        #expect(try parse([], env: ["MINDALPHA_SERVICE": ""]).string("service") == nil)
    }

    @Test func helpIsRecognisedAnywhere() throws {
        #expect(try parse(["--conns", "3", "--help"]).helpRequested)
        #expect(try parse(["-h"]).helpRequested)
        #expect(try parse(["--conns", "nonsense", "-h"]).helpRequested)
        #expect(try parse(["--", "--help"]).helpRequested == false)
    }

    @Test func unknownOptionSuggestsTheClosest() {
        #expect(message(["--con"]) == "unknown option '--con'; did you mean '--conns'?")
        #expect(message(["--jsn"]) == "unknown option '--jsn'; did you mean '--json'?")
        #expect(message(["--zzzzzzzz"]) == "unknown option '--zzzzzzzz'")
        #expect(message(["-x"]) == "unknown option '-x'")
    }

    @Test func badValuesNameOptionValueAndExpectation() {
        #expect(message(["--duration", "5x"]) == "--duration: '5x' is not a duration (e.g. 250ms, 2s, 1m30s)")
        #expect(message(["-c", "0"]) == "-c: '0' is not a whole number from 1 to 1000")
        #expect(message(["--target", "nohost"]) == "--target: 'nohost' is not HOST:PORT (IPv6 as [::1]:PORT)")
        #expect(message(["--algorithm", "smoth"]) == "--algorithm: 'smoth' is not one of lvs, smooth; did you mean 'smooth'?")
        #expect(message(["--payload-size", "4Kb"]) == "--payload-size: '4Kb' is not a size (e.g. 64, 1k, 4KiB, 1MiB)")
        #expect(message(["--error-rate", "1.5"]) == "--error-rate: '1.5' is not a number from 0 to 1")
        #expect(message(["--json=maybe"]) == "--json: 'maybe' is not true or false")
    }

    @Test func missingValueIsNamed() {
        #expect(message(["--conns"]) == "--conns needs a value (a whole number from 1 to 1000)")
        #expect(message(["--conns", "--json"]) == "--conns needs a value (a whole number from 1 to 1000), but '--json' is an option")
    }

    @Test func badEnvironmentValueNamesTheVariable() {
        let spec = CommandSpec(name: "x", summary: "", options: [OptionSpec("conns", .integer(1...9), help: "", environment: "CONNS")])
        #expect(throws: UsageError("--conns: 'lots' is not a whole number from 1 to 9 (from $CONNS)", command: "x")) {
            try spec.parse([], environment: ["CONNS": "lots"])
        }
    }

    @Test func positionalsAreCounted() throws {
        #expect(try parse(["a.json"]).positionals == ["a.json"])
        #expect(message(["a", "b"]) == "unexpected argument 'b'")
        let needs = CommandSpec(name: "merge", summary: "", options: [], positionals: [PositionalSpec("report", .path, help: "A JSON report.", variadic: true)])
        #expect(throws: UsageError("missing <report>: A JSON report.", command: "merge")) { try needs.parse([]) }
        #expect(try needs.parse(["a", "b", "c"]).positionals == ["a", "b", "c"])
    }

    @Test func durations() {
        let cases: [(String, Duration?)] = [
            ("250ms", .milliseconds(250)), ("10s", .seconds(10)), ("2m", .seconds(120)), ("1.5h", .seconds(5400)),
            ("500us", .microseconds(500)), ("7ns", .nanoseconds(7)), ("0", .zero), ("0.5s", .milliseconds(500)),
            ("5", nil), ("5x", nil), ("", nil), ("-1s", nil), ("s", nil), ("1e3s", nil), ("1..2s", nil),
            // Go's syntax, as Consul and the Go client write durations.
            ("1m30s", .seconds(90)), ("1h2m", .seconds(3720)), ("1h30m0.5s", .milliseconds(5_400_500)), ("2s500ms", .milliseconds(2500)),
            ("1s1", nil), ("1m s", nil), ("99999999h", nil),
        ]
        for (text, expected) in cases {
            #expect(ValueKind.duration.parse(text) == expected.map(Value.duration), "\(text)")
        }
    }

    @Test func aDurationTooLargeSaysSo() {
        #expect(ValueKind.duration.rejection(of: "99999999h") == "'99999999h' is too large: a duration goes up to 2562047h")
        #expect(ValueKind.duration.rejection(of: "5x") == nil)
        #expect(ValueKind.durationRange.rejection(of: "1ms..99999999h") == "'99999999h' is too large: a duration goes up to 2562047h")
    }

    @Test func durationRanges() {
        #expect(ValueKind.durationRange.parse("2ms") == .durationRange(.milliseconds(2)...(.milliseconds(2))))
        #expect(ValueKind.durationRange.parse("1ms..5ms") == .durationRange(.milliseconds(1)...(.milliseconds(5))))
        #expect(ValueKind.durationRange.parse("5ms..1ms") == nil)
        #expect(ValueKind.durationRange.parse("1ms..") == nil)
        #expect(ValueKind.durationRange.parse("1ms..2ms..3ms") == nil)
    }

    @Test func sizes() {
        let cases: [(String, Int?)] = [
            ("64", 64), ("4KiB", 4096), ("1MiB", 1 << 20), ("2GiB", 2 << 30), ("10kB", 10_000), ("1.5KiB", 1536), ("64B", 64),
            ("1k", 1000), ("2M", 2_000_000), ("4Kb", nil), ("-1", nil), ("1.3", nil), ("KiB", nil), ("99999999999GiB", nil),
        ]
        for (text, expected) in cases {
            #expect(ValueKind.size.parse(text) == expected.map(Value.size), "\(text)")
        }
    }

    @Test func rates() {
        let cases: [(String, Double?)] = [("5000", 5000), ("5k", 5000), ("1.5M", 1_500_000), ("250/s", 250), ("x", nil), ("5q", nil)]
        for (text, expected) in cases {
            #expect(ValueKind.rate.parse(text) == expected.map(Value.rate), "\(text)")
        }
    }

    @Test func hostPorts() {
        #expect(HostPort(parsing: "127.0.0.1:9000") == HostPort(host: "127.0.0.1", port: 9000))
        #expect(HostPort(parsing: "[::1]:9000") == HostPort(host: "::1", port: 9000))
        #expect(HostPort(parsing: "localhost:0") == HostPort(host: "localhost", port: 0))
        for bad in ["127.0.0.1", ":9000", "host:", "host:65536", "host:-1", "::1:9000", "[::1]9000", "[::1]", "a b:1", "h:9x"] {
            #expect(HostPort(parsing: bad) == nil, "\(bad)")
        }
        #expect(HostPort(host: "::1", port: 9).description == "[::1]:9")
    }

    @Test func integersAcceptUnderscores() {
        #expect(ValueKind.integer(0...100_000).parse("10_000") == .integer(10_000))
    }

    @Test func editDistanceAndSuggestions() {
        #expect(editDistance("kitten", "sitting") == 3)
        #expect(editDistance("", "abc") == 3)
        #expect(closest(to: "srve", among: ["serve", "schedule", "discover"]) == "serve")
        #expect(closest(to: "bnch", among: ["bench", "repl"]) == "bench")
        #expect(closest(to: "xyz", among: ["bench", "repl"]) == nil)
    }
}

@Suite struct ProgramTests {
    static let program = ProgramSpec(
        name: "tool", version: "1.2.3", summary: "does things",
        commands: [
            CommandSpec(name: "serve", summary: "serve things", options: [OptionSpec("port", .integer(0...65535), help: "Port.", default: "9000")]),
            CommandSpec(name: "bench", summary: "load things", options: []),
        ],
        exitStatus: [Definition("0", "ok.")])

    @Test func helpForms() throws {
        guard case let .help(top) = try Self.program.resolve(["--help"]) else { Issue.record("no help"); return }
        #expect(top.contains("serve"))
        #expect(top.contains("bench"))
        #expect(top.contains("Exit codes: 0 ok."))
        guard case let .help(a) = try Self.program.resolve(["help", "serve"]),
              case let .help(b) = try Self.program.resolve(["serve", "--help"]),
              case let .help(c) = try Self.program.resolve(["serve", "-h"])
        else { Issue.record("no command help"); return }
        #expect(a == b)
        #expect(b == c)
        #expect(a.contains("Usage: tool serve [options]"))
        #expect(a.contains("--port N"))
        #expect(a.contains("[default: 9000]"))
    }

    @Test func version() throws {
        guard case let .version(v) = try Self.program.resolve(["--version"]) else { Issue.record("no version"); return }
        #expect(v == "tool 1.2.3")
    }

    @Test func unknownCommandSuggests() {
        #expect(throws: UsageError("unknown command 'srve'; did you mean 'serve'?")) { try Self.program.resolve(["srve"]) }
        #expect(throws: UsageError("unknown command 'help-me'")) { try Self.program.resolve(["help-me"]) }
        #expect(throws: UsageError("unknown option '--port' (options go after the command)")) { try Self.program.resolve(["--port"]) }
        #expect(throws: UsageError("unknown command 'nope'")) { try Self.program.resolve(["help", "nope"]) }
    }

    @Test func noCommandIsAUsageError() {
        #expect(throws: UsageError.self) { try Self.program.resolve([]) }
    }

    @Test func runCarriesParsedValues() throws {
        guard case let .run(command, args) = try Self.program.resolve(["serve", "--port", "1"]) else { Issue.record("not run"); return }
        #expect(command.name == "serve")
        #expect(args.integer("port") == 1)
    }

    @Test func usageLines() {
        #expect(Self.program.usageLine(for: "serve") == "Usage: tool serve [options]")
        #expect(Self.program.usageLine(for: "bench") == "Usage: tool bench")
        #expect(Self.program.usageLine(for: nil) == "Usage: tool <command> [options]")
    }
}
