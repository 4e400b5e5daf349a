import CommandLineKit
import Foundation
import MindAlphaBench
import MindAlphaPool

/// `mindalpha-pool report merge|compare`: several hosts' `bench --json` reports as one, or two runs side by side.
enum ReportCommand {
    /// Each option once, typed: `args[Options.conns]`; the spec below lists them.
    enum Options {
        static let json = OptionSpec("json", .flag, help: "The merged report as one JSON document (mergeable again); compare: the comparison as JSON.").flag
        static let failIf = OptionSpec("fail-if", .string, help: "merge: exit 2 if this holds of the merged report (as bench --fail-if).", repeatable: true, valueName: "EXPR").texts
        static let run = OptionSpec("run", .string, help: "merge: read the reports of this bench --coordinate run from Consul's KV store (with --consul).", valueName: "RUN-ID").text
        static let wait = OptionSpec("wait", .duration, help: "merge --run: wait up to this long for every agent's report.", default: "0s").duration.defaulted()
        static let out = OptionSpec("out", short: "o", .path, help: "plot: the file to write (.svg, or .png with --format png).", default: "run.svg").text.defaulted()
        static let format = OptionSpec("format", .choice(["svg", "png"]), help: "plot: svg (written by this tool), or png (the SVG rendered by rsvg-convert, from Debian's librsvg2-bin).", default: "svg").text.defaulted()
        static let hgrm = OptionSpec("hgrm", .path, help: "export: write the latency distribution in HdrHistogram's .hgrm format to this file (- for stdout).").text
        static let failIfWorse = OptionSpec("fail-if-worse", .string, help: "compare: exit 2 if B is worse than A by more than this percentage (10%) in rate, a percentile or the error rate.", valueName: "PERCENT").text
    }

    static let spec = CommandSpec(
        name: "report",
        summary: "merge bench --json reports from several hosts, compare two runs, plot them, export .hgrm",
        discussion: """
        merge: a load larger than one machine, run as bench --json on several hosts against the same fleet at the \
        same time (or as bench --shard/--coordinate agents): counts add up, percentiles come from the merged \
        latency histograms (exact to 3 significant digits), per instance too, the per-second timelines add up \
        second by second (lined up by the wall clock), and the rate is taken over the window all runs overlap — how \
        much of each run fell outside it is said. Runs of different loops or plans are refused; the same shard twice \
        and shards missing are warned about. --run reads a coordinated run's reports from Consul. - reads a \
        report from stdin. compare A B: two runs side by side — rate, each percentile, errors, per instance — with \
        the change from A to B in percent; --fail-if-worse exits 2 past a regression. plot: one self-contained SVG \
        of the reports (the percentile spectrum with a curve per report, the timeline with events, per-instance \
        shares against weights; --format png through rsvg-convert). export --hgrm: a report's latency distribution \
        in HdrHistogram's .hgrm format.
        """,
        options: [
            Options.json.spec,
            Options.failIf.spec,
            Options.run.spec,
            Options.wait.spec,
            Options.failIfWorse.spec,
            Options.out.spec,
            Options.format.spec,
            Options.hgrm.spec,
        ] + ConsulOptions.specs,
        positionals: [
            PositionalSpec("action", .choice(["merge", "compare", "plot", "export"]), help: "merge: combine the reports; compare: A against B; plot: draw them as one SVG; export: write a report's latency distribution (--hgrm)."),
            PositionalSpec("files", .path, help: "bench --json reports (none with --run).", optional: true, variadic: true),
        ],
        rules: [
            .requires("wait", anyOf: ["run"], why: "it waits for a coordinated run's reports"),
        ],
        examples: [
            "mindalpha-pool report merge host-a.json host-b.json host-c.json",
            "mindalpha-pool report merge --consul 127.0.0.1:8500 --run nightly-42 --fail-if 'p99>5ms'",
            "mindalpha-pool report compare before.json after.json --fail-if-worse 10%",
            "mindalpha-pool report plot host-a.json host-b.json --out run.svg",
        ])

    /// A report is small (a long run with a per-second timeline is a few megabytes): reading stops past this.
    static let maxReportSize = 64 << 20

    static func run(_ args: ParsedArguments) async throws -> ExitCode {
        let action = args.positionals.first ?? "merge"
        let files = Array(args.positionals.dropFirst())
        if action == "plot" || action == "export" {
            guard !files.isEmpty else { throw UsageError("report \(action) needs at least one bench --json file", command: spec.name) }
            let reports = try readAll(files)
            if action == "export" {
                guard let file = args[Options.hgrm] else { throw UsageError("report export needs --hgrm FILE (- for stdout)", command: spec.name) }
                guard reports.count == 1, let text = reports[0].hgrm() else {
                    throw UsageError("report export --hgrm takes one report (merge several first)", command: spec.name)
                }
                if file == "-" { Output.out(text, terminator: "") } else { try write(text, to: file) }
                return .success
            }
            let runs = zip(files, reports).map { ReportPlot.Run(name: URL(fileURLWithPath: $0.0).deletingPathExtension().lastPathComponent, report: $0.1) }
            let title = reports.count == 1 ? (reports[0].command ?? "mindalpha-pool bench") : "\(reports.count) runs: " + runs.map(\.name).joined(separator: ", ")
            let svg = ReportPlot(runs: runs, title: title).svg
            let out = args[Options.out]
            if args[Options.format] == "png" {
                try ReportPNG.render(svg, to: out)
            } else {
                try write(svg, to: out)
            }
            Output.err("\(Program.spec.name) report: wrote \(out)")
            return .success
        }
        if action == "compare" {
            guard files.count == 2, args[Options.run] == nil else {
                throw UsageError("report compare takes two bench --json files: the baseline A and the run B", command: spec.name)
            }
            let a = try load(files[0]), b = try load(files[1])
            return try ReportComparison.run(a, b, names: (files[0], files[1]), args: args)
        }
        if args.isSet(Options.failIfWorse) { throw UsageError("--fail-if-worse is for report compare", command: spec.name) }
        let thresholds = try args[Options.failIf].map { text in
            do { return try Threshold(parsing: text) } catch { throw UsageError("--fail-if: \(error)", command: spec.name) }
        }
        var reports: [BenchReport]
        if let runID = args[Options.run] {
            guard files.isEmpty else { throw UsageError("give --run or files to merge, not both", command: spec.name) }
            reports = try await CoordinatedRun.reports(args, runID: runID, wait: args[Options.wait])
        } else {
            guard !files.isEmpty else { throw UsageError("report merge needs at least one bench --json file (or --run RUN-ID)", command: spec.name) }
            reports = try readAll(files)
        }
        let (refusals, warnings) = BenchReport.mergeProblems(reports)
        if let refusal = refusals.first { throw CommandError(refusal) }
        for warning in warnings { Output.err("\(Program.spec.name) report: warning: \(warning)") }
        let merged = BenchReport.merged(reports)
        if let o = merged.overlap, o.seconds <= 0, reports.count > 1 {
            throw CommandError("these runs never overlapped in time (\(spans(reports))): merge runs that applied their load together")
        }
        let heading = "report: \(merged.runs) runs merged (\(merged.mode) loop), \(merged.instances.count) instances"
        Output.out(args[Options.json] ? merged.json : BenchText.render(merged, heading: heading))
        let breached = thresholds.filter { $0.isBreached(by: merged) }
        for t in breached {
            Output.err("\(Program.spec.name) report: --fail-if \(t) breached: \(t.metric.rawValue) is \(BenchText.format(t, t.measured(in: merged)))")
        }
        if !breached.isEmpty { return .thresholdBreached }
        return warnings.contains(where: { $0.hasPrefix("no report of shard") }) ? .failure : .success
    }

    static func write(_ text: String, to file: String) throws {
        do { try text.write(toFile: file, atomically: true, encoding: .utf8) } catch {
            throw CommandError("cannot write '\(file)': check that its folder exists and is writable")
        }
    }

    /// Each run's measured window, for a message.
    static func spans(_ reports: [BenchReport]) -> String {
        reports.map { "\($0.startedAt ?? "?") to \($0.endedAt ?? "?")" }.joined(separator: "; ")
    }

    /// The files' reports, each file once (the same file named twice is counted once; identical contents warned).
    static func readAll(_ files: [String]) throws -> [BenchReport] {
        var reports: [BenchReport] = []
        var seen: [String: String] = [:]
        var contents: [Data: String] = [:]
        for file in files {
            let key = file == "-" ? "-" : URL(fileURLWithPath: file).standardizedFileURL.resolvingSymlinksInPath().path
            if let first = seen[key] {
                Output.err("\(Program.spec.name) report: warning: '\(file)' is the same file as '\(first)': counted once")
                continue
            }
            seen[key] = file
            let data = try read(file)
            if let twin = contents[data] {
                Output.err("\(Program.spec.name) report: warning: '\(file)' is identical to '\(twin)': the same run twice? Both are counted")
            }
            contents[data] = file
            reports.append(try decode(data, name: "'\(file)'"))
        }
        return reports
    }

    static func load(_ file: String) throws -> BenchReport { try decode(try read(file), name: "'\(file)'") }

    static func decode(_ data: Data, name: String) throws -> BenchReport {
        do {
            return try BenchReport.decode(data)
        } catch {
            throw CommandError("\(name) is not a bench --json report: \(describe(decoding: error)) — produce one with mindalpha-pool bench --json > FILE")
        }
    }

    /// A report's bytes: a file (not a directory, not endless) or stdin, at most ``maxReportSize``.
    static func read(_ file: String) throws -> Data {
        let handle: FileHandle
        if file == "-" {
            handle = FileHandle.standardInput
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
                throw CommandError("cannot read '\(file)': no such file")
            }
            guard !isDirectory.boolValue else { throw CommandError("'\(file)' is a directory, not a bench --json report") }
            guard let h = FileHandle(forReadingAtPath: file) else { throw CommandError("cannot read '\(file)': permission denied?") }
            handle = h
        }
        var data = Data()
        while data.count <= maxReportSize {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: 1 << 20) } catch { throw CommandError("cannot read '\(file)': \(error.localizedDescription)") }
            guard let chunk, !chunk.isEmpty else { return data }
            data.append(chunk)
        }
        throw CommandError("'\(file)' is larger than 64 MiB: not a bench --json report")
    }

    /// Why a document is not a report, in words: which key is missing or has the wrong kind of value, and where.
    static func describe(decoding error: Error) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch error {
        case let DecodingError.keyNotFound(key, context):
            let at = path(context.codingPath)
            return "the key '\(key.stringValue)' is missing" + (at.isEmpty ? "" : " in \(at)")
        case let DecodingError.typeMismatch(type, context), let DecodingError.valueNotFound(type, context):
            return "'\(path(context.codingPath))' is not \(words(type))"
        case DecodingError.dataCorrupted:
            return "it is not JSON"
        default:
            return "it cannot be read"
        }
    }

    private static func words(_ type: Any.Type) -> String {
        switch type {
        case is Double.Type, is Int.Type, is UInt64.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default: return "what a report has there"
        }
    }
}
