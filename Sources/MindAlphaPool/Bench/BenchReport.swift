import Foundation
import Histogram

/// A load run's report: what `bench` prints, and its `--json` document (keys in snake_case, stable). It carries
/// its histograms' buckets, so reports from several hosts merge into one (``merged(_:)``).
public struct BenchReport: Codable, Sendable, Equatable {
    /// Latency percentiles in microseconds.
    public struct Latency: Codable, Sendable, Equatable {
        public var min: Double
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var p99_9: Double
        public var p99_99: Double
        public var max: Double
        public var mean: Double
    }

    /// One instance: its weight, the share it should get and the share it got.
    public struct InstanceRow: Codable, Sendable, Equatable {
        public var address: String
        public var weight: Int
        public var expectedShare: Double
        public var observedShare: Double
        public var requests: Int
        public var errors: Int
        public var p50Us: Double
        public var p99Us: Double
        public var histogram: [[UInt64]]

        enum CodingKeys: String, CodingKey {
            case address, weight, requests, errors, histogram
            case expectedShare = "expected_share", observedShare = "observed_share", p50Us = "p50_us", p99Us = "p99_us"
        }
    }

    enum CodingKeys: String, CodingKey {
        case rps, mode, seconds, requests, ok, errors, latency, instances, events, histogram, runs
        case targetRps = "target_rps", errorRate = "error_rate", latencyUncorrected = "latency_uncorrected"
        case histogramUncorrected = "histogram_uncorrected"
    }

    /// Achieved requests per second (answered or failed) over the measured time.
    public var rps: Double
    /// The open loop's target rate (the end rate of a ramp), `nil` in a closed loop.
    public var targetRps: Double?
    /// `closed` or `open`.
    public var mode: String
    public var seconds: Double
    public var requests: Int
    public var ok: Int
    /// Failures by class: connect, closed, protocol, timeout, unavailable, invalid, …
    public var errors: [String: Int]
    public var errorRate: Double
    /// From the intended send time in an open loop (coordinated omission corrected); from the send in a closed one.
    public var latency: Latency
    /// From the actual send, open loop only.
    public var latencyUncorrected: Latency?
    public var instances: [InstanceRow]
    /// Instances that joined or left during the run, and other notes.
    public var events: [String]
    /// `[value_ns, count]` pairs of the latency histogram (corrected).
    public var histogram: [[UInt64]]
    public var histogramUncorrected: [[UInt64]]?
    /// How many runs (hosts) this report combines.
    public var runs: Int

    /// The largest gap between an instance's observed and expected share, in percentage points.
    public var shareDeviation: Double {
        instances.map { abs($0.observedShare - $0.expectedShare) * 100 }.max() ?? 0
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    public static func decode(_ data: Data) throws -> BenchReport {
        let decoder = JSONDecoder()
        return try decoder.decode(BenchReport.self, from: data)
    }
}

extension BenchReport {
    /// Builds the report of one run; `weights` are the instances' weights by address (from the pool).
    public init(result: LoadResult, plan: LoadPlan, weights: [String: Int], events: [String]) {
        var targetRps: Double?
        var mode = "closed"
        if case let .open(rate, _) = plan.mode {
            targetRps = rate
            mode = "open"
        }
        let rows = Self.rows(
            result.instances.mapValues { ($0.ok + $0.errors, $0.errors, $0.histogram) }, weights: weights)
        self.init(
            rps: Self.round(result.rps, 1), targetRps: targetRps, mode: mode, seconds: Self.round(result.seconds, 3),
            requests: result.requests, ok: result.ok, errors: result.errors,
            errorRate: result.requests == 0 ? 0 : Self.round(Double(result.requests - result.ok) / Double(result.requests), 6),
            latency: Self.summary(result.corrected),
            latencyUncorrected: mode == "open" ? Self.summary(result.uncorrected) : nil,
            instances: rows, events: events,
            histogram: Self.buckets(result.corrected),
            histogramUncorrected: mode == "open" ? Self.buckets(result.uncorrected) : nil,
            runs: 1)
    }

    /// Several runs as one, as when each of several hosts put its share of a load on the same fleet at the same
    /// time: counts and rates add up, the time is the longest, percentiles come from the merged histograms.
    public static func merged(_ reports: [BenchReport]) -> BenchReport {
        precondition(!reports.isEmpty, "nothing to merge")
        var corrected = LoadRecorder.makeHistogram()
        var uncorrected = LoadRecorder.makeHistogram()
        var anyUncorrected = false
        var errors: [String: Int] = [:]
        var perInstance: [String: (requests: Int, errors: Int, histogram: LatencyHistogram)] = [:]
        var weights: [String: Int] = [:]
        for r in reports {
            record(r.histogram, into: &corrected)
            if let u = r.histogramUncorrected {
                anyUncorrected = true
                record(u, into: &uncorrected)
            }
            errors.merge(r.errors, uniquingKeysWith: +)
            for row in r.instances {
                weights[row.address] = weights[row.address] ?? row.weight
                var entry = perInstance[row.address] ?? (0, 0, LoadRecorder.makeHistogram())
                entry.requests += row.requests
                entry.errors += row.errors
                record(row.histogram, into: &entry.histogram)
                perInstance[row.address] = entry
            }
        }
        let requests = reports.reduce(0) { $0 + $1.requests }
        let ok = reports.reduce(0) { $0 + $1.ok }
        let targets = reports.compactMap(\.targetRps)
        return BenchReport(
            rps: round(reports.reduce(0) { $0 + $1.rps }, 1),
            targetRps: targets.isEmpty ? nil : targets.reduce(0, +),
            mode: Set(reports.map(\.mode)).count == 1 ? reports[0].mode : "mixed",
            seconds: reports.map(\.seconds).max()!,
            requests: requests, ok: ok, errors: errors,
            errorRate: requests == 0 ? 0 : round(Double(requests - ok) / Double(requests), 6),
            latency: summary(corrected),
            latencyUncorrected: anyUncorrected ? summary(uncorrected) : nil,
            instances: rows(perInstance.mapValues { ($0.requests, $0.errors, $0.histogram) }, weights: weights),
            events: reports.flatMap(\.events),
            histogram: buckets(corrected),
            histogramUncorrected: anyUncorrected ? buckets(uncorrected) : nil,
            runs: reports.reduce(0) { $0 + $1.runs })
    }

    static func rows(
        _ instances: [String: (requests: Int, errors: Int, histogram: LatencyHistogram)], weights: [String: Int]
    ) -> [InstanceRow] {
        let addresses = Set(instances.keys).union(weights.keys)
        let totalWeight = addresses.reduce(0) { $0 + (weights[$1] ?? 0) }
        let totalRequests = instances.values.reduce(0) { $0 + $1.requests }
        return addresses.map { address in
            let entry = instances[address]
            let weight = weights[address] ?? 0
            let histogram = entry?.histogram ?? LoadRecorder.makeHistogram()
            return InstanceRow(
                address: address, weight: weight,
                expectedShare: totalWeight == 0 ? 0 : round(Double(weight) / Double(totalWeight), 6),
                observedShare: totalRequests == 0 ? 0 : round(Double(entry?.requests ?? 0) / Double(totalRequests), 6),
                requests: entry?.requests ?? 0, errors: entry?.errors ?? 0,
                p50Us: histogram.totalCount == 0 ? 0 : us(histogram.valueAtPercentile(50)),
                p99Us: histogram.totalCount == 0 ? 0 : us(histogram.valueAtPercentile(99)),
                histogram: buckets(histogram))
        }.sorted { ($0.weight, $1.address) > ($1.weight, $0.address) }
    }

    static func summary(_ h: LatencyHistogram) -> Latency {
        guard h.totalCount > 0 else { return Latency(min: 0, p50: 0, p90: 0, p99: 0, p99_9: 0, p99_99: 0, max: 0, mean: 0) }
        return Latency(
            min: us(h.min), p50: us(h.valueAtPercentile(50)), p90: us(h.valueAtPercentile(90)),
            p99: us(h.valueAtPercentile(99)), p99_9: us(h.valueAtPercentile(99.9)),
            p99_99: us(h.valueAtPercentile(99.99)), max: us(h.max), mean: round(h.mean / 1000, 1))
    }

    static func buckets(_ h: LatencyHistogram) -> [[UInt64]] {
        h.recordedValues().map { [$0.value, $0.count] }
    }

    static func record(_ buckets: [[UInt64]], into h: inout LatencyHistogram) {
        for pair in buckets where pair.count == 2 { _ = h.record(pair[0], count: pair[1]) }
    }

    static func us(_ ns: UInt64) -> Double { round(Double(ns) / 1000, 1) }

    static func round(_ v: Double, _ places: Int) -> Double {
        let f = pow(10, Double(places))
        return (v * f).rounded() / f
    }
}
