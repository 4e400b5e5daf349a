import MindAlphaPool

/// A `--fail-if` condition on a report: `p99>5ms`, `errors>0.1%`, `errors>10`, `dropped>0`, `unfinished>0`,
/// `rps<10000`, `share-deviation>5%`.
public struct Threshold: Sendable, Hashable, CustomStringConvertible {
    public enum Metric: String, Sendable, CaseIterable {
        case min, p50, p90, p99, p99_9 = "p99.9", p99_99 = "p99.99", max, mean
        case errors, dropped, unfinished, rps
        case shareDeviation = "share-deviation"
    }

    public enum Comparison: String, Sendable, CaseIterable {
        case greaterOrEqual = ">=", lessOrEqual = "<=", greater = ">", less = "<"

        func holds(_ a: Double, _ b: Double) -> Bool {
            switch self {
            case .greater: a > b
            case .less: a < b
            case .greaterOrEqual: a >= b
            case .lessOrEqual: a <= b
            }
        }
    }

    public var metric: Metric
    public var comparison: Comparison
    /// Microseconds for latencies; a fraction (0.001 for 0.1%) or a count for errors, dropped and unfinished; per
    /// second for rps; percentage points for share-deviation.
    public var value: Double
    /// A count metric given as a percentage (a rate), not a count.
    public var isRate: Bool
    public let text: String

    public var description: String { text }

    /// Parses `METRIC OP VALUE`; the error says what is wrong and lists what is accepted.
    public init(parsing text: String) throws(ThresholdError) {
        let compact = text.filter { !$0.isWhitespace }
        guard let comparison = Comparison.allCases.first(where: { compact.contains($0.rawValue) }),
              let range = compact.range(of: comparison.rawValue)
        else {
            throw ThresholdError("'\(text)' has no comparison: write METRIC>VALUE or METRIC<VALUE (e.g. p99>5ms, errors>0.1%, rps<10000)")
        }
        let name = String(compact[..<range.lowerBound])
        let raw = String(compact[range.upperBound...])
        guard let metric = Metric(rawValue: name.lowercased()) else {
            throw ThresholdError("unknown metric '\(name)' in '\(text)'; known: \(Metric.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.metric = metric
        self.comparison = comparison
        self.text = compact
        self.isRate = false
        switch metric {
        case .errors, .dropped, .unfinished:
            if raw.hasSuffix("%"), let v = Double(raw.dropLast()), v >= 0 {
                value = v / 100
                isRate = true
            } else if let v = Double(raw), v >= 0 {
                value = v
            } else {
                throw ThresholdError("'\(raw)' in '\(text)' is not a count or a percentage (e.g. \(name)>0.1% or \(name)>10)")
            }
        case .rps:
            guard let v = Self.rate(raw), v >= 0 else { throw ThresholdError("'\(raw)' in '\(text)' is not a rate per second (e.g. rps<10000, rps<10k)") }
            value = v
        case .shareDeviation:
            guard raw.hasSuffix("%"), let v = Double(raw.dropLast()), v >= 0 else {
                throw ThresholdError("'\(raw)' in '\(text)' is not a percentage (e.g. share-deviation>5%)")
            }
            value = v
        default:
            guard let us = Self.microseconds(raw) else {
                throw ThresholdError("'\(raw)' in '\(text)' is not a duration with a unit (e.g. 500us, 5ms, 1.5s)")
            }
            value = us
        }
    }

    /// `10000`, `10k`, `1.5M`, `10k/s`: a rate as `--rate` takes it.
    private static func rate(_ text: String) -> Double? {
        let trimmed = text.hasSuffix("/s") ? String(text.dropLast(2)) : text
        for (suffix, factor) in [("k", 1e3), ("K", 1e3), ("M", 1e6)] where trimmed.hasSuffix(suffix) {
            return Double(trimmed.dropLast()).map { $0 * factor }
        }
        return Double(trimmed)
    }

    private static func microseconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ns", 0.001), ("us", 1), ("µs", 1), ("ms", 1000), ("s", 1_000_000)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let v = Double(text.dropLast(suffix.count)), v >= 0 else { return nil }
            return v * factor
        }
        return nil
    }

    /// The measured value this threshold looks at, in its units.
    public func measured(in report: BenchReport) -> Double {
        let l = report.latency
        switch metric {
        case .min: return l.min
        case .p50: return l.p50
        case .p90: return l.p90
        case .p99: return l.p99
        case .p99_9: return l.p99_9
        case .p99_99: return l.p99_99
        case .max: return l.max
        case .mean: return l.mean
        case .errors: return isRate ? report.errorRate : Double(report.errorCount)
        case .dropped: return isRate ? Self.share(report.dropped, of: report.requests) : Double(report.dropped)
        case .unfinished: return isRate ? Self.share(report.unfinished, of: report.requests) : Double(report.unfinished)
        case .rps: return report.rps
        case .shareDeviation: return report.shareDeviation
        }
    }

    private static func share(_ n: Int, of total: Int) -> Double { total == 0 ? 0 : Double(n) / Double(total) }

    /// Whether the report breaches it (the condition holds).
    public func isBreached(by report: BenchReport) -> Bool { comparison.holds(measured(in: report), value) }
}

/// A `--fail-if` that cannot be read.
public struct ThresholdError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
