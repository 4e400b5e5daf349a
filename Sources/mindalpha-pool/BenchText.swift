import CommandLineKit
import Foundation
import MindAlphaBench
import MindAlphaPool

/// The human-readable bench report.
enum BenchText {
    /// The heading line of a run.
    static func heading(plan: LoadPlan, conns: Int, instances: Int, bodySize: Int) -> String {
        var load: String
        switch plan.mode {
        case let .closed(concurrency): load = "closed loop, \(concurrency) in flight"
        case let .open(rate, from):
            load = from.map { "open loop, \(Self.rate($0))→\(Self.rate(rate)) req/s ramp" } ?? "open loop, \(Self.rate(rate)) req/s"
        }
        load += ", \(conns) connection\(conns == 1 ? "" : "s") × \(instances) instance\(instances == 1 ? "" : "s"), \(grouped(bodySize))-byte body"
        return "bench: \(load)"
    }

    /// The charts of a text report, drawn as the environment's locale and terminal allow.
    static var chart: TerminalChart { TerminalChart(glyphs: .forEnvironment(ProcessInfo.processInfo.environment)) }

    static func render(_ r: BenchReport, heading: String, firstErrors: [String: String] = [:], chart: TerminalChart = BenchText.chart) -> String {
        var lines: [String] = [heading]
        let seconds = String(format: "%.2f", r.seconds)
        if let target = r.targetRps {
            lines.append("  requests  \(grouped(r.requests)) due in \(seconds)s (target \(rate(target)) req/s), "
                + "\(grouped(r.sent)) sent: \(grouped(Int(r.rps.rounded()))) req/s")
        } else {
            lines.append("  requests  \(grouped(r.requests)) in \(seconds)s, \(grouped(Int(r.rps.rounded()))) req/s")
        }
        lines.append("            ok \(grouped(r.ok)) · errors \(grouped(r.errorCount)) · unfinished \(grouped(r.unfinished)) · dropped \(grouped(r.dropped))")
        if let o = r.overlap, r.runs > 1 {
            let agents = r.agents ?? []
            let names = agents.isEmpty ? "\(r.runs) runs" : "\(agents.count) agent\(agents.count == 1 ? "" : "s") (" + agents.map(\.shard).joined(separator: " ") + ")"
            lines.append("  agents    \(names) shared \(String(format: "%.2f", o.seconds))s, \(Output.percent(o.share)) of their measured time: the rate is over that window")
            for a in agents where (a.outsideSeconds ?? 0) >= 0.05 {
                lines.append("            shard \(a.shard) (\(a.host), pid \(a.pid)) ran \(String(format: "%.2f", a.outsideSeconds!))s outside it")
            }
        }
        if r.errorCount > 0 {
            lines.append("  errors    \(grouped(r.errorCount))" + String(format: " (%.3f%%): ", r.errorRate * 100)
                + r.errors.sorted { $0.value > $1.value }.map { "\($0.key) \(grouped($0.value))" }.joined(separator: ", "))
            for (cls, message) in firstErrors.sorted(by: { $0.key < $1.key }) { lines.append("            e.g. \(cls): \(message)") }
        }
        if r.dropped > 0 {
            lines.append("  dropped   \(grouped(r.dropped)) (\(Output.percent(Double(r.dropped) / Double(max(1, r.requests))))) due and never sent: "
                + "\(grouped(r.inFlightLimit ?? 0)) requests were out, the most allowed; the latency below counts the wait")
        }
        if r.unfinished > 0 {
            lines.append("  unfinished \(grouped(r.unfinished)) sent and still unanswered when the run was interrupted")
        }
        if let c = r.connections, c.failed > 0 || c.open < c.wanted {
            var line = "  connections \(grouped(c.open)) of \(grouped(c.wanted)) open at the end; \(grouped(c.failed)) connect\(c.failed == 1 ? "" : "s") failed"
            if c.clientLimited > 0 {
                line += ", \(grouped(c.clientLimited)) on this client's own limits" + (c.firstClientLimit.map { ": \($0)" } ?? "")
            }
            lines.append(line)
        }
        if r.late + r.duplicate + r.unknownID > 0 {
            lines.append("  unmatched answers: late \(grouped(r.late)) · duplicate \(grouped(r.duplicate)) · unknown id \(grouped(r.unknownID)) (counted and dropped)")
        }
        if r.ok == 0 {
            lines.append("  latency   no request succeeded")
        } else {
            lines.append("  latency   " + summary(r.latency) + (r.latencyUncorrected == nil ? "" : "  (from intended send)"))
            if let u = r.latencyUncorrected { lines.append("            " + summary(u) + "  (uncorrected)") }
        }
        if r.ok > 0 {
            lines.append("")
            lines.append("  latency histogram")
            lines += chart.histogram(r.histogram)
            lines.append("  percentiles")
            lines += chart.spectrum(r.histogram)
        }
        if !r.instances.isEmpty || r.unplaced > 0 {
            lines.append("")
            lines.append(indent(instanceTable(r)))
        }
        if r.instances.count > 1 {
            lines.append("")
            lines.append("  shares: observed (bar) against expected (\(chart.glyphs.mark))")
            lines += chart.shares(r.instances)
        }
        if !r.events.isEmpty {
            lines.append("")
            lines.append("  events")
            for e in r.events { lines.append("    \(eventTime(e.at))  \(e.message)") }
        }
        return lines.joined(separator: "\n")
    }

    /// One row per instance; UNFINISHED and the unmatched-answer columns only when a run has some; a last row for
    /// requests that reached no instance.
    static func instanceTable(_ r: BenchReport) -> String {
        let showUnfinished = r.instances.contains { $0.unfinished > 0 }
        let showUnmatched = r.instances.contains { $0.late + $0.duplicate + $0.unknownID > 0 }
        var header = ["INSTANCE", "WEIGHT", "EXPECTED", "OBSERVED", "REQUESTS", "ERRORS"]
        if showUnfinished { header.append("UNFINISHED") }
        if showUnmatched { header += ["LATE", "DUPLICATE", "UNKNOWN-ID"] }
        header += ["P50", "P99"]
        var rows = r.instances.map { i in
            var row = [i.address, String(i.weight), Output.percent(i.expectedShare), Output.percent(i.observedShare), grouped(i.requests), grouped(i.errors)]
            if showUnfinished { row.append(grouped(i.unfinished)) }
            if showUnmatched { row += [grouped(i.late), grouped(i.duplicate), grouped(i.unknownID)] }
            return row + [i.ok > 0 ? formatLatency(microseconds: i.p50Us) : "-", i.ok > 0 ? formatLatency(microseconds: i.p99Us) : "-"]
        }
        if r.unplaced > 0 {
            var row = ["(no instance)", "-", "-", "-", grouped(r.unplaced), "-"]
            if showUnfinished { row.append("-") }
            if showUnmatched { row += ["-", "-", "-"] }
            rows.append(row + ["-", "-"])
        }
        return TableFormatter.render(header: header, rows: rows, rightAlignedFrom: 1)
    }

    /// `1,500,000`, `0.5`: a rate as given, grouped, with decimals only below 100.
    static func rate(_ value: Double) -> String {
        if value >= 100 || value == value.rounded() { return grouped(Int(value.rounded())) }
        return String(format: "%g", (value * 100).rounded() / 100)
    }

    /// `1.234s`, `-0.050s`.
    static func eventTime(_ seconds: Double) -> String { String(format: "%.3fs", seconds) }

    static func summary(_ l: BenchReport.Latency) -> String {
        "min \(formatLatency(microseconds: l.min))  p50 \(formatLatency(microseconds: l.p50))  p90 \(formatLatency(microseconds: l.p90))  p99 \(formatLatency(microseconds: l.p99))  "
            + "p99.9 \(formatLatency(microseconds: l.p99_9))  p99.99 \(formatLatency(microseconds: l.p99_99))  max \(formatLatency(microseconds: l.max))"
    }

    static func format(_ t: Threshold, _ value: Double) -> String {
        switch t.metric {
        case .errors, .dropped, .unfinished: return t.isRate ? String(format: "%.3f%%", value * 100) : grouped(Int(value))
        case .rps: return grouped(Int(value))
        case .shareDeviation: return String(format: "%.2f%%", value)
        default: return formatLatency(microseconds: value)
        }
    }


    static func grouped(_ n: Int) -> String { formatGrouped(n) }

    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}
