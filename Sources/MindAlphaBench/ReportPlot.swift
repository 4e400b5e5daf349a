import Foundation
import MindAlphaPool

/// Reports as one self-contained SVG (`report plot`): (1) the percentile spectrum on a logarithmic "nines" axis,
/// one curve per run; (2) the timeline — requests per second, p50 and p99 per second — with the run's events
/// marked; (3) each instance's share of the requests, second by second, against the share its weight asks for.
/// Plain SVG 1.1 text: no script, no external font or image.
public struct ReportPlot: Sendable {
    public struct Run: Sendable {
        public var name: String
        public var report: BenchReport
        public init(name: String, report: BenchReport) {
            self.name = name
            self.report = report
        }
    }

    public let runs: [Run]
    public let title: String
    static let width = 960.0
    static let panel = 300.0
    static let left = 80.0, right = 190.0, top = 40.0, bottom = 40.0
    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    /// The spectrum's percentiles, as "nines" (−log10(1 − p)).
    static let levels: [(label: String, percent: Double)] = [
        ("50%", 50), ("90%", 90), ("99%", 99), ("99.9%", 99.9), ("99.99%", 99.99), ("99.999%", 99.999),
    ]

    public init(runs: [Run], title: String) {
        self.runs = runs
        self.title = title
    }

    public var svg: String {
        let height = Self.top + 3 * (Self.panel + Self.top + Self.bottom) + 20
        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(Int(Self.width))" height="\(Int(height))" \
        viewBox="0 0 \(Int(Self.width)) \(Int(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="#ffffff"/>
        <text x="\(Self.left)" y="24" font-size="\(title.count > 100 ? 11 : 15)" font-weight="bold">\(Self.escape(title.count > 130 ? String(title.prefix(129)) + "…" : title))</text>

        """
        out += spectrum(y: Self.top + Self.top)
        out += timeline(y: Self.top + Self.top + Self.panel + Self.top + Self.bottom)
        out += shares(y: Self.top + Self.top + 2 * (Self.panel + Self.top + Self.bottom))
        out += "</svg>\n"
        return out
    }

    // MARK: panels

    private func spectrum(y: Double) -> String {
        var g = "<g id=\"spectrum\" transform=\"translate(0,\(Self.n(y)))\">\n"
        g += heading("Latency by percentile (coordinated omission corrected)")
        let curves = runs.map { run -> [(nines: Double, us: Double, label: String?)] in
            var h = LoadRecorder.makeHistogram()
            BenchReport.record(run.report.histogram, into: &h)
            guard h.totalCount > 0 else { return [] }
            // Every 0.05 of a nine, and each labelled level exactly (its value as the report states it).
            var points: [(Double, Double, String?)] = stride(from: 0.0, through: 5.0, by: 0.05).compactMap { nines in
                Self.levels.contains { abs(-log10(1 - $0.percent / 100) - nines) < 1e-6 } ? nil
                    : (nines, Double(h.valueAtPercentile(100 * (1 - pow(10, -nines)))) / 1000, nil)
            }
            for level in Self.levels {
                points.append((-log10(1 - level.percent / 100), Double(h.valueAtPercentile(level.percent)) / 1000, level.label))
            }
            return points.sorted { $0.0 < $1.0 }
        }
        let values = curves.flatMap { $0.map(\.us) }.filter { $0 > 0 }
        let (lo, hi) = Self.logRange(values)
        func x(_ nines: Double) -> Double { Self.left + nines / 5 * plotWidth }
        func yv(_ us: Double) -> Double { Self.panel - (log10(max(us, lo)) - log10(lo)) / (log10(hi) - log10(lo)) * Self.panel }
        g += frame()
        for level in Self.levels {
            let nx = x(-log10(1 - level.percent / 100))
            g += "<line x1=\"\(Self.n(nx))\" y1=\"0\" x2=\"\(Self.n(nx))\" y2=\"\(Self.n(Self.panel))\" stroke=\"#e0e0e0\"/>\n"
            g += "<text x=\"\(Self.n(nx))\" y=\"\(Self.n(Self.panel + 16))\" text-anchor=\"middle\">\(level.label)</text>\n"
        }
        g += logTicks(lo: lo, hi: hi, y: yv)
        g += "<text x=\"\(Self.n(Self.left + plotWidth / 2))\" y=\"\(Self.n(Self.panel + 32))\" text-anchor=\"middle\">percentile</text>\n"
        for (i, curve) in curves.enumerated() where !curve.isEmpty {
            let color = Self.colors[i % Self.colors.count]
            let d = curve.enumerated().map { k, p in "\(k == 0 ? "M" : "L")\(Self.n(x(p.nines))),\(Self.n(yv(p.us)))" }.joined(separator: " ")
            g += "<path class=\"run\" data-run=\"\(Self.escape(runs[i].name))\" d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            for p in curve where p.label != nil {
                g += "<circle class=\"level\" data-run=\"\(Self.escape(runs[i].name))\" data-percentile=\"\(p.label!)\" data-us=\"\(BenchReport.round(p.us, 1))\" "
                    + "cx=\"\(Self.n(x(p.nines)))\" cy=\"\(Self.n(yv(p.us)))\" r=\"3\" fill=\"\(color)\"/>\n"
            }
        }
        g += legend(runs.enumerated().map { ($0.element.name, Self.colors[$0.offset % Self.colors.count], false) })
        return g + "</g>\n"
    }

    private func timeline(y: Double) -> String {
        var g = "<g id=\"timeline\" transform=\"translate(0,\(Self.n(y)))\">\n"
        g += heading("Requests per second (left) and p50 / p99 per second (right, log)")
        let seconds = max(1, runs.map(\.report.timeline.count).max() ?? 1)
        let most = max(1, Int(Double(runs.flatMap { $0.report.timeline.map(\.requests) }.max() ?? 1) * 1.15))
        let latencies = runs.flatMap { $0.report.timeline.flatMap { [$0.p50Us, $0.p99Us] } }.filter { $0 > 0 }
        let (lo, hi) = Self.logRange(latencies)
        func x(_ s: Double) -> Double { Self.left + s / Double(seconds) * plotWidth }
        func yr(_ r: Double) -> Double { Self.panel - r / Double(most) * Self.panel }
        func yl(_ us: Double) -> Double { Self.panel - (log10(max(us, lo)) - log10(lo)) / (log10(hi) - log10(lo)) * Self.panel }
        g += frame()
        for k in 0...4 {
            let r = Double(most) * Double(k) / 4
            g += "<text x=\"\(Self.n(Self.left - 6))\" y=\"\(Self.n(yr(r) + 4))\" text-anchor=\"end\">\(formatGrouped(Int(r.rounded())))</text>\n"
        }
        g += logTicks(lo: lo, hi: hi, y: yl, right: true)
        let step = max(1, seconds / 10)
        for s in stride(from: 0, through: seconds, by: step) {
            g += "<text x=\"\(Self.n(x(Double(s))))\" y=\"\(Self.n(Self.panel + 16))\" text-anchor=\"middle\">\(s)s</text>\n"
        }
        for (i, run) in runs.enumerated() {
            let color = Self.colors[i % Self.colors.count]
            let t = run.report.timeline
            guard !t.isEmpty else { continue }
            func path(_ value: (BenchReport.TimelineSecond) -> Double?, _ y: (Double) -> Double) -> String {
                t.compactMap { s in value(s).map { (s.second, $0) } }.enumerated()
                    .map { k, p in "\(k == 0 ? "M" : "L")\(Self.n(x(Double(p.0) + 0.5))),\(Self.n(y(p.1)))" }.joined(separator: " ")
            }
            g += "<path class=\"rps\" data-run=\"\(Self.escape(run.name))\" d=\"\(path({ Double($0.requests) }, yr))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            g += "<path class=\"p99\" data-run=\"\(Self.escape(run.name))\" d=\"\(path({ $0.p99Us > 0 ? $0.p99Us : nil }, yl))\" fill=\"none\" stroke=\"\(color)\" stroke-dasharray=\"6 3\"/>\n"
            g += "<path class=\"p50\" data-run=\"\(Self.escape(run.name))\" d=\"\(path({ $0.p50Us > 0 ? $0.p50Us : nil }, yl))\" fill=\"none\" stroke=\"\(color)\" stroke-dasharray=\"2 3\"/>\n"
            for (k, e) in run.report.events.filter({ $0.at >= 0 && $0.at <= Double(seconds) }).enumerated() {
                let ex = x(e.at)
                // Labels step down the panel so that events close together stay readable.
                let ly = 12 + Double(k % 5) * 13
                let port = e.instance.map { ":" + ($0.split(separator: ":").last.map(String.init) ?? $0) } ?? ""
                let label = Self.escape(e.kind.replacingOccurrences(of: "_", with: " ") + port)
                g += "<g class=\"event\" data-kind=\"\(Self.escape(e.kind))\"><line x1=\"\(Self.n(ex))\" y1=\"0\" x2=\"\(Self.n(ex))\" y2=\"\(Self.n(Self.panel))\" stroke=\"#888888\" stroke-dasharray=\"3 3\"/>"
                    + "<text x=\"\(Self.n(ex + 3))\" y=\"\(Self.n(ly))\" font-size=\"10\" fill=\"#555555\">\(label)</text></g>\n"
            }
        }
        g += "<text x=\"\(Self.n(Self.left + plotWidth / 2))\" y=\"\(Self.n(Self.panel + 32))\" text-anchor=\"middle\">seconds of the measured window</text>\n"
        var items: [(String, String, Bool)] = []
        for (i, run) in runs.enumerated() {
            let color = Self.colors[i % Self.colors.count]
            items += [("\(run.name) req/s", color, false), ("\(run.name) p99", color, true)]
        }
        g += legend(items)
        return g + "</g>\n"
    }

    private func shares(y: Double) -> String {
        var g = "<g id=\"shares\" transform=\"translate(0,\(Self.n(y)))\">\n"
        let run = runs.first
        g += heading("Share of requests per instance, per second (solid), against its weight's share (dashed)" + (runs.count > 1 ? ": \(run!.name)" : ""))
        g += frame()
        guard let report = run?.report else { return g + "</g>\n" }
        let seconds = max(1, report.timeline.count)
        let instances = report.instances.sorted { $0.address < $1.address }
        let shares = report.timeline.map { s -> [String: Double] in
            let total = Double(max(1, s.requests))
            return Dictionary(s.instances.map { ($0.address, Double($0.requests) / total) }, uniquingKeysWith: +)
        }
        let top = min(1, max(0.05, (instances.map(\.expectedShare) + shares.flatMap(\.values)).max() ?? 1) * 1.15)
        func x(_ s: Double) -> Double { Self.left + s / Double(seconds) * plotWidth }
        func ys(_ v: Double) -> Double { Self.panel - v / top * Self.panel }
        for k in 0...4 {
            let v = top * Double(k) / 4
            g += "<text x=\"\(Self.n(Self.left - 6))\" y=\"\(Self.n(ys(v) + 4))\" text-anchor=\"end\">\(String(format: "%.0f%%", v * 100))</text>\n"
        }
        let step = max(1, seconds / 10)
        for s in stride(from: 0, through: seconds, by: step) {
            g += "<text x=\"\(Self.n(x(Double(s))))\" y=\"\(Self.n(Self.panel + 16))\" text-anchor=\"middle\">\(s)s</text>\n"
        }
        var items: [(String, String, Bool)] = []
        for (i, instance) in instances.enumerated() {
            let color = Self.colors[i % Self.colors.count]
            let d = shares.enumerated().compactMap { n, s in s[instance.address].map { (n, $0) } }.enumerated()
                .map { k, p in "\(k == 0 ? "M" : "L")\(Self.n(x(Double(p.0) + 0.5))),\(Self.n(ys(p.1)))" }.joined(separator: " ")
            if !d.isEmpty {
                g += "<path class=\"share\" data-instance=\"\(Self.escape(instance.address))\" d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            }
            g += "<line class=\"expected\" data-instance=\"\(Self.escape(instance.address))\" x1=\"\(Self.n(x(0)))\" y1=\"\(Self.n(ys(instance.expectedShare)))\" "
                + "x2=\"\(Self.n(x(Double(seconds))))\" y2=\"\(Self.n(ys(instance.expectedShare)))\" stroke=\"\(color)\" stroke-dasharray=\"6 3\"/>\n"
            items.append(("\(instance.address) w\(instance.weight)", color, false))
        }
        g += "<text x=\"\(Self.n(Self.left + plotWidth / 2))\" y=\"\(Self.n(Self.panel + 32))\" text-anchor=\"middle\">seconds of the measured window</text>\n"
        g += legend(Array(items.prefix(12)))
        return g + "</g>\n"
    }

    // MARK: pieces

    private var plotWidth: Double { Self.width - Self.left - Self.right }

    private func heading(_ text: String) -> String {
        "<text x=\"\(Self.n(Self.left))\" y=\"-10\" font-size=\"13\" font-weight=\"bold\">\(Self.escape(text))</text>\n"
    }

    private func frame() -> String {
        "<rect x=\"\(Self.n(Self.left))\" y=\"0\" width=\"\(Self.n(plotWidth))\" height=\"\(Self.n(Self.panel))\" fill=\"none\" stroke=\"#444444\"/>\n"
    }

    /// Latency labels at 1, 2, 5 × powers of ten between `lo` and `hi` (µs).
    private func logTicks(lo: Double, hi: Double, y: (Double) -> Double, right: Bool = false) -> String {
        var g = ""
        var decade = pow(10, floor(log10(lo)))
        while decade <= hi {
            for m in [1.0, 2.0, 5.0] {
                let v = decade * m
                guard v >= lo, v <= hi else { continue }
                let tx = right ? Self.left + plotWidth + 6 : Self.left - 6
                g += "<line x1=\"\(Self.n(Self.left))\" y1=\"\(Self.n(y(v)))\" x2=\"\(Self.n(Self.left + plotWidth))\" y2=\"\(Self.n(y(v)))\" stroke=\"#f0f0f0\"/>\n"
                g += "<text x=\"\(Self.n(tx))\" y=\"\(Self.n(y(v) + 4))\" text-anchor=\"\(right ? "start" : "end")\">\(Self.escape(formatLatency(microseconds: v)))</text>\n"
            }
            decade *= 10
        }
        return g
    }

    private func legend(_ items: [(String, String, Bool)]) -> String {
        var g = ""
        let x = Self.width - Self.right + 22
        for (i, item) in items.enumerated() {
            let y = 10 + Double(i) * 16
            g += "<line x1=\"\(Self.n(x))\" y1=\"\(Self.n(y))\" x2=\"\(Self.n(x + 18))\" y2=\"\(Self.n(y))\" stroke=\"\(item.1)\" stroke-width=\"2\"\(item.2 ? " stroke-dasharray=\"6 3\"" : "")/>"
            let label = item.0.count > 26 ? String(item.0.prefix(25)) + "…" : item.0
            g += "<text class=\"legend\" x=\"\(Self.n(x + 22))\" y=\"\(Self.n(y + 4))\" font-size=\"10\">\(Self.escape(label))</text>\n"
        }
        return g
    }

    /// A range for a log axis: the values' span, a little beyond, never empty.
    static func logRange(_ values: [Double]) -> (Double, Double) {
        guard let lo = values.min(), let hi = values.max() else { return (1, 10) }
        let l = max(0.1, lo / 1.3), h = max(l * 10, hi * 1.3)
        return (l, h)
    }

    static func n(_ v: Double) -> String { String(format: "%.1f", v) }


    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
