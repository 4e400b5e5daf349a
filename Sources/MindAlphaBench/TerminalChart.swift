import Foundation
import MindAlphaPool

/// A report as small pictures for a terminal, each line at most ``width`` columns: the latency histogram on
/// logarithmic buckets, the percentile spectrum on a "nines" scale, and each instance's observed share against its
/// weight's. Unicode block bars where the terminal can show them, `#` bars otherwise; never coloured.
public struct TerminalChart: Sendable {
    /// The characters bars are drawn with.
    public struct Glyphs: Sendable, Equatable {
        /// Eighths of a cell, emptiest first; the last is a full cell.
        public var eighths: [String]
        /// Where the expected share stands on a share bar.
        public var mark: String
        public var empty: String

        public static let unicode = Glyphs(eighths: ["▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"], mark: "│", empty: "·")
        public static let ascii = Glyphs(eighths: ["", "", "", "#", "#", "#", "#", "#"], mark: "|", empty: ".")

        /// Unicode when the locale says UTF-8 (`LC_ALL`, else `LC_CTYPE`, else `LANG`) and the terminal is not
        /// `dumb`; ASCII otherwise.
        public static func forEnvironment(_ environment: [String: String]) -> Glyphs {
            if environment["TERM"] == "dumb" { return .ascii }
            let locale = [environment["LC_ALL"], environment["LC_CTYPE"], environment["LANG"]].compactMap { $0 }.first { !$0.isEmpty } ?? ""
            let utf8 = locale.uppercased().replacingOccurrences(of: "-", with: "").contains("UTF8")
            return utf8 ? .unicode : .ascii
        }
    }

    public static let width = 80
    public let glyphs: Glyphs

    public init(glyphs: Glyphs) { self.glyphs = glyphs }

    /// In ASCII, what the labels hold that is not: `µs` as `us`, `≤` as `<=`, `…` as `~`.
    func finish(_ lines: [String]) -> [String] {
        guard glyphs == .ascii else { return lines }
        return lines.map { $0.replacingOccurrences(of: "µ", with: "u").replacingOccurrences(of: "≤", with: "<=").replacingOccurrences(of: "…", with: "~") }
    }

    /// A bar of `fraction` (0…1) of `cells` cells.
    func bar(_ fraction: Double, cells: Int) -> String {
        // Something is never drawn as nothing.
        let eighths = max(fraction > 0 ? 1 : 0, Int((max(0, min(1, fraction)) * Double(cells * 8)).rounded()))
        var out = String(repeating: glyphs.eighths[7], count: eighths / 8)
        if eighths % 8 > 0 { out += glyphs.eighths[eighths % 8 - 1] }
        return out
    }

    private static func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
        let count = s.count
        guard count < n else { return s }
        return left ? String(repeating: " ", count: n - count) + s : s + String(repeating: " ", count: n - count)
    }

    /// The latency histogram: `buckets` (`[value_ns, count]`) grouped into logarithmic bins from the smallest to
    /// the largest value, one line each: the bin's upper edge, a bar of its share, the share.
    public func histogram(_ buckets: [[UInt64]], bins: Int = 12) -> [String] {
        let pairs = buckets.filter { $0.count == 2 && $0[1] > 0 }
        guard let low = pairs.map({ $0[0] }).min(), let high = pairs.map({ $0[0] }).max() else { return [] }
        let total = Double(pairs.reduce(0) { $0 + $1[1] })
        let lo = log(Double(max(1, low))), hi = log(Double(max(low + 1, high)))
        let n = high == low ? 1 : bins
        var counts = [Double](repeating: 0, count: n)
        for p in pairs {
            let x = n == 1 ? 0 : Int(((log(Double(max(1, p[0]))) - lo) / (hi - lo) * Double(n)).rounded(.down))
            counts[min(n - 1, max(0, x))] += Double(p[1])
        }
        let most = counts.max() ?? 1
        return finish(counts.enumerated().map { i, c in
            let edge = n == 1 ? Double(high) : exp(lo + (hi - lo) * Double(i + 1) / Double(n))
            let label = Self.pad("≤" + formatLatency(microseconds: edge / 1000), 10, left: true)
            let share = String(format: "%5.1f%%", c / total * 100)
            return "  \(label) \(Self.pad(bar(c / most, cells: 56), 56)) \(share)"
        })
    }

    /// The percentile spectrum: p50 … p99.999 (as far as there are samples for), a bar of each on a logarithmic
    /// latency scale from the fastest to the slowest.
    public func spectrum(_ buckets: [[UInt64]]) -> [String] {
        var h = LoadRecorder.makeHistogram()
        BenchReport.record(buckets, into: &h)
        guard h.totalCount > 0 else { return [] }
        let levels: [(String, Double)] = [("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9), ("p99.99", 99.99), ("p99.999", 99.999)]
        let shown = levels.filter { $0.1 <= 50 || Double(h.totalCount) * (100 - $0.1) / 100 >= 1 }
        let lo = log(Double(max(1, h.min))), hi = log(Double(max(h.min + 1, h.max)))
        return finish(shown.map { name, level in
            let v = h.valueAtPercentile(level)
            let fraction = hi > lo ? (log(Double(max(1, v))) - lo) / (hi - lo) : 1
            return "  \(Self.pad(name, 8)) \(Self.pad(formatLatency(microseconds: Double(v) / 1000), 8, left: true)) \(bar(max(fraction, 0.02), cells: 58))"
        })
    }

    /// A sparkline of `values` (one character each, lowest to highest of them); ASCII uses `_.-=*#`.
    public func sparkline(_ values: [UInt64]) -> String {
        let levels = glyphs == .ascii ? ["_", ".", "-", "=", "*", "#"] : ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        guard let lo = values.min(), let hi = values.max() else { return "" }
        return values.map { v in
            hi == lo ? levels[levels.count / 2] : levels[Int((Double(v - lo) / Double(hi - lo) * Double(levels.count - 1)).rounded())]
        }.joined()
    }

    /// One line per instance: its observed share as a bar, the expected share marked on it, both in numbers.
    public func shares(_ instances: [BenchReport.InstanceRow]) -> [String] {
        guard !instances.isEmpty else { return [] }
        let top = max(instances.map { max($0.observedShare, $0.expectedShare) }.max() ?? 1, 0.0001)
        let cells = 34
        return finish(instances.map { i in
            var cellsText = Array(Self.pad(bar(i.observedShare / top, cells: cells), cells).map(String.init))
            for k in cellsText.indices where cellsText[k] == " " { cellsText[k] = glyphs.empty }
            let at = min(cells - 1, Int((i.expectedShare / top * Double(cells)).rounded(.down)))
            if i.expectedShare > 0 { cellsText[at] = glyphs.mark }
            let address = i.address.count > 21 ? String(i.address.prefix(20)) + "…" : i.address
            return "  \(Self.pad(address, 21)) \(cellsText.joined()) \(String(format: "%5.1f%% of %5.1f%%", i.observedShare * 100, i.expectedShare * 100))"
        })
    }
}
