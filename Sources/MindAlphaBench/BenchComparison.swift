/// Two runs side by side (`report compare A B`): the rate, the error rate and each latency percentile of A and B
/// with the change from A to B, and the same per instance; a metric is worse when it moved the wrong way (rate down,
/// latency or errors up).
public struct BenchComparison: Sendable, Encodable {
    public struct Row: Sendable, Encodable, Equatable {
        /// `rps`, `error_rate`, `p50`, `p90`, `p99`, `p99_9`, `p99_99`, `max`, `mean` (latencies in µs).
        public var metric: String
        public var a: Double
        public var b: Double
        /// (B − A) / A in percent; `nil` when A is 0.
        public var changePercent: Double?
        /// Whether a higher value is better (the rate).
        public var higherIsBetter: Bool

        /// How far it moved the wrong way, in percent (0 when it did not; infinite from 0 to something worse).
        public var worsePercent: Double {
            guard let change = changePercent else { return (higherIsBetter ? b < a : b > a) ? .infinity : 0 }
            return max(0, higherIsBetter ? -change : change)
        }

        enum CodingKeys: String, CodingKey {
            case metric, a, b
            case changePercent = "change_percent", higherIsBetter = "higher_is_better"
        }
    }

    /// One instance in both runs.
    public struct InstanceRow: Sendable, Encodable, Equatable {
        public var address: String
        public var requestsA: Int?
        public var requestsB: Int?
        public var p99A: Double?
        public var p99B: Double?
        public var errorsA: Int?
        public var errorsB: Int?

        enum CodingKeys: String, CodingKey {
            case address
            case requestsA = "requests_a", requestsB = "requests_b", p99A = "p99_us_a", p99B = "p99_us_b"
            case errorsA = "errors_a", errorsB = "errors_b"
        }
    }

    public var metrics: [Row]
    public var instances: [InstanceRow]

    public init(_ a: BenchReport, _ b: BenchReport) {
        func row(_ metric: String, _ x: Double, _ y: Double, higherIsBetter: Bool = false) -> Row {
            Row(metric: metric, a: x, b: y, changePercent: x == 0 ? nil : BenchReport.round((y - x) / x * 100, 2), higherIsBetter: higherIsBetter)
        }
        let la = a.latency, lb = b.latency
        metrics = [
            row("rps", a.rps, b.rps, higherIsBetter: true),
            row("error_rate", a.errorRate, b.errorRate),
            row("p50", la.p50, lb.p50), row("p90", la.p90, lb.p90), row("p99", la.p99, lb.p99),
            row("p99_9", la.p99_9, lb.p99_9), row("p99_99", la.p99_99, lb.p99_99), row("max", la.max, lb.max),
            row("mean", la.mean, lb.mean),
        ]
        let byA = Dictionary(a.instances.map { ($0.address, $0) }, uniquingKeysWith: { x, _ in x })
        let byB = Dictionary(b.instances.map { ($0.address, $0) }, uniquingKeysWith: { x, _ in x })
        instances = Set(byA.keys).union(byB.keys).sorted().map { address in
            let x = byA[address], y = byB[address]
            return InstanceRow(address: address, requestsA: x?.requests, requestsB: y?.requests, p99A: x?.p99Us, p99B: y?.p99Us,
                               errorsA: x?.errors, errorsB: y?.errors)
        }
    }

    /// The metrics worse in B than in A by more than `percent`; `max` is shown but never judged (one sample).
    public func regressions(beyond percent: Double) -> [Row] {
        metrics.filter { $0.metric != "max" && $0.worsePercent > percent }
    }
}
