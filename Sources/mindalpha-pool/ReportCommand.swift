import CommandLineKit
import Foundation
import MindAlphaPool

/// `mindalpha-pool report merge`: several hosts' `bench --json` reports as one.
enum ReportCommand {
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
            OptionSpec("json", .flag, help: "The merged report as one JSON document (mergeable again)."),
        ],
        positionals: [
            PositionalSpec("action", .choice(["merge"]), help: "merge: combine the reports."),
            PositionalSpec("files", .path, help: "bench --json reports.", variadic: true),
        ],
        examples: ["mindalpha-pool report merge host-a.json host-b.json host-c.json"])

    static func run(_ args: ParsedArguments) async throws -> ExitCode {
        let files = Array(args.positionals.dropFirst())
        guard !files.isEmpty else { throw UsageError("report merge needs at least one bench --json file", command: spec.name) }
        var reports: [BenchReport] = []
        for file in files {
            let data: Data?
            if file == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                data = FileHandle(forReadingAtPath: file)?.readDataToEndOfFile()
            }
            guard let data else { throw CommandError("cannot read '\(file)'") }
            do {
                reports.append(try BenchReport.decode(data))
            } catch {
                throw CommandError("'\(file)' is not a bench --json report (\(error)) — produce it with mindalpha-pool bench --json > FILE")
            }
        }
        let merged = BenchReport.merged(reports)
        let heading = "report: \(merged.runs) runs merged (\(merged.mode) loop), \(merged.instances.count) instances"
        Output.out(args.flag("json") ? merged.json : BenchText.render(merged, heading: heading))
        return .success
    }
}
