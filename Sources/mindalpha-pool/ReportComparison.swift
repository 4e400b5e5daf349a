import CommandLineKit
import Foundation
import MindAlphaBench
import MindAlphaPool

/// `report compare A B`: prints the comparison, and judges `--fail-if-worse`.
enum ReportComparison {
    static func run(_ a: BenchReport, _ b: BenchReport, names: (String, String), args: ParsedArguments) throws -> ExitCode {
        let limit = try args[ReportCommand.Options.failIfWorse].map(parsePercent)
        if a.mode != b.mode {
            Output.err("\(Program.spec.name) report: warning: A is a \(a.mode) loop and B a \(b.mode) one: their rates mean different things")
        }
        let comparison = BenchComparison(a, b)
        let worse = limit.map { comparison.regressions(beyond: $0) } ?? []
        if args[ReportCommand.Options.json] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            struct Document: Encodable {
                var a: String, b: String
                var comparison: BenchComparison
                var regressions: [String]
            }
            let doc = Document(a: names.0, b: names.1, comparison: comparison, regressions: worse.map(\.metric))
            Output.out(String(decoding: try encoder.encode(doc), as: UTF8.self))
        } else {
            Output.out(render(comparison, names: names, limit: limit))
        }
        for row in worse {
            let change = row.changePercent.map { String(format: "%+.1f%%", $0) } ?? "from 0"
            Output.err("\(Program.spec.name) report: --fail-if-worse \(format(limit!))% breached: \(row.metric) \(value(row.metric, row.a)) → \(value(row.metric, row.b)) (\(change))")
        }
        return worse.isEmpty ? .success : .thresholdBreached
    }

    /// `10%` or `10`: a percentage ≥ 0.
    static func parsePercent(_ text: String) throws -> Double {
        let number = text.hasSuffix("%") ? String(text.dropLast()) : text
        guard let v = Double(number), v >= 0, v.isFinite else {
            throw UsageError("--fail-if-worse: '\(text)' is not a percentage (10%, 2.5%)", command: ReportCommand.spec.name)
        }
        return v
    }

    static func render(_ c: BenchComparison, names: (String, String), limit: Double?) -> String {
        var lines = ["report: A \(names.0) → B \(names.1)"]
        lines.append("  " + pad("metric", 12) + pad("A", 14) + pad("B", 14) + "change")
        for row in c.metrics {
            let change = row.changePercent.map { String(format: "%+.1f%%", $0) } ?? (row.a == row.b ? "0" : "from 0")
            let mark = limit.map { row.worsePercent > $0 ? "  worse" : "" } ?? (row.worsePercent > 0 ? "  (worse)" : "")
            lines.append("  " + pad(row.metric, 12) + pad(value(row.metric, row.a), 14) + pad(value(row.metric, row.b), 14) + change + mark)
        }
        if !c.instances.isEmpty {
            lines.append("")
            lines.append("  " + pad("instance", 24) + pad("requests A", 12) + pad("requests B", 12) + pad("p99 A", 12) + "p99 B")
            for i in c.instances {
                lines.append("  " + pad(i.address, 24) + pad(i.requestsA.map(BenchText.grouped) ?? "-", 12)
                    + pad(i.requestsB.map(BenchText.grouped) ?? "-", 12) + pad(i.p99A.map { formatLatency(microseconds: $0) } ?? "-", 12)
                    + (i.p99B.map { formatLatency(microseconds: $0) } ?? "-"))
            }
        }
        return lines.joined(separator: "\n")
    }

    static func value(_ metric: String, _ v: Double) -> String {
        switch metric {
        case "rps": return BenchText.grouped(Int(v.rounded())) + " req/s"
        case "error_rate": return String(format: "%.3f%%", v * 100)
        default: return formatLatency(microseconds: v)
        }
    }

    static func format(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
