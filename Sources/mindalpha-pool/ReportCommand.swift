import CommandLineKit
import Foundation
import MindAlphaBench
import MindAlphaPool

/// `mindalpha-pool report merge`: several hosts' `bench --json` reports as one.
enum ReportCommand {
    /// Each option once, typed: `args[Options.conns]`; the spec below lists them.
    enum Options {
        static let json = OptionSpec("json", .flag, help: "The merged report as one JSON document (mergeable again).").flag
    }

    static let spec = CommandSpec(
        name: "report",
        summary: "merge bench --json reports from several hosts into one",
        discussion: """
        A load larger than one machine: run bench --json on several hosts against the same fleet at the same time, \
        then merge. Counts and rates add up, the time is the longest run's, percentiles come from the merged \
        latency histograms (exact to 3 significant digits), per instance too, and the per-second timelines add up \
        second by second. - reads a report from stdin.
        """,
        options: [
            Options.json.spec,
        ],
        positionals: [
            PositionalSpec("action", .choice(["merge"]), help: "merge: combine the reports."),
            PositionalSpec("files", .path, help: "bench --json reports.", variadic: true),
        ],
        examples: ["mindalpha-pool report merge host-a.json host-b.json host-c.json"])

    /// A report is small (a long run with a per-second timeline is a few megabytes): reading stops past this.
    static let maxReportSize = 64 << 20

    static func run(_ args: ParsedArguments) async throws -> ExitCode {
        let files = Array(args.positionals.dropFirst())
        guard !files.isEmpty else { throw UsageError("report merge needs at least one bench --json file", command: spec.name) }
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
            do {
                reports.append(try BenchReport.decode(data))
            } catch {
                throw CommandError("'\(file)' is not a bench --json report: \(describe(decoding: error)) — produce one with mindalpha-pool bench --json > FILE")
            }
        }
        let modes = Set(reports.map(\.mode))
        guard modes.count == 1 else {
            throw CommandError("cannot merge closed-loop and open-loop runs (\(modes.sorted().joined(separator: ", "))): their rates mean different things — merge runs of one mode")
        }
        let merged = BenchReport.merged(reports)
        let heading = "report: \(merged.runs) runs merged (\(merged.mode) loop), \(merged.instances.count) instances"
        Output.out(args[Options.json] ? merged.json : BenchText.render(merged, heading: heading))
        return .success
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
