import CommandLineKit
import MindAlphaPool

/// The human-readable bench report.
enum BenchText {
    /// The heading line of a run.
    static func heading(plan: LoadPlan, conns: Int, instances: Int, bodySize: Int) -> String {
        var load: String
        switch plan.mode {
        case let .closed(concurrency): load = "closed loop, \(concurrency) in flight"
        case let .open(rate, from):
            load = from.map { "open loop, \(grouped(Int($0)))→\(grouped(Int(rate))) req/s ramp" } ?? "open loop, \(grouped(Int(rate))) req/s"
        }
        load += ", \(conns) connection\(conns == 1 ? "" : "s") × \(instances) instance\(instances == 1 ? "" : "s"), \(bodySize)-byte body"
        return "bench: \(load)"
    }

    static func render(_ r: BenchReport, heading: String, lastErrors: [String: String] = [:]) -> String {
        var lines: [String] = [heading]
        let errors = r.requests - r.ok
        lines.append("  requests  \(grouped(r.requests)) in \(String(format: "%.2f", r.seconds))s, \(grouped(Int(r.rps.rounded()))) req/s"
            + (r.targetRps.map { " (target \(grouped(Int($0))))" } ?? ""))
        var errorLine = "  errors    \(grouped(errors))"
        if errors > 0 {
            errorLine += String(format: " (%.3f%%): ", r.errorRate * 100)
                + r.errors.sorted { $0.value > $1.value }.map { "\($0.key) \(grouped($0.value))" }.joined(separator: ", ")
        }
        lines.append(errorLine)
        for (cls, message) in lastErrors.sorted(by: { $0.key < $1.key }) { lines.append("            e.g. \(cls): \(message)") }
        if r.ok == 0 {
            lines.append("  latency   no request succeeded")
        } else {
            lines.append("  latency   " + summary(r.latency) + (r.latencyUncorrected == nil ? "" : "  (from intended send)"))
            if let u = r.latencyUncorrected { lines.append("            " + summary(u) + "  (uncorrected)") }
        }
        lines.append("")
        let rows = r.instances.map { i in
            [i.address, String(i.weight), percent(i.expectedShare), percent(i.observedShare), grouped(i.requests), grouped(i.errors),
             i.requests > i.errors ? formatLatency(microseconds: i.p50Us) : "-", i.requests > i.errors ? formatLatency(microseconds: i.p99Us) : "-"]
        }
        lines.append(indent(TableFormatter.render(
            header: ["INSTANCE", "WEIGHT", "EXPECTED", "OBSERVED", "REQUESTS", "ERRORS", "P50", "P99"], rows: rows, rightAlignedFrom: 1)))
        if !r.events.isEmpty {
            lines.append("")
            lines.append("  events")
            for e in r.events { lines.append("    \(e)") }
        }
        return lines.joined(separator: "\n")
    }

    static func summary(_ l: BenchReport.Latency) -> String {
        "min \(formatLatency(microseconds: l.min))  p50 \(formatLatency(microseconds: l.p50))  p90 \(formatLatency(microseconds: l.p90))  p99 \(formatLatency(microseconds: l.p99))  "
            + "p99.9 \(formatLatency(microseconds: l.p99_9))  p99.99 \(formatLatency(microseconds: l.p99_99))  max \(formatLatency(microseconds: l.max))"
    }

    static func format(_ t: Threshold, _ value: Double) -> String {
        switch t.metric {
        case .errors: return t.isRate ? String(format: "%.3f%%", value * 100) : grouped(Int(value))
        case .rps: return grouped(Int(value))
        case .shareDeviation: return String(format: "%.2f%%", value)
        default: return formatLatency(microseconds: value)
        }
    }

    static func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }

    static func grouped(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}
