import Foundation
import Histogram
import MindAlphaPool

/// A load run's report: what `bench` prints, and its `--json` document (keys in snake_case, stable). It carries
/// its histograms' buckets, so reports from several hosts merge into one (``merged(_:)``).
///
/// Every measured request is in exactly one bucket: `ok`, one class of `errors`, `unfinished` or `dropped`, and
/// `requests` is their sum, overall and per instance (`requests` = the instances' `requests` + `unplaced` +
/// `dropped`).
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

    /// One instance: its weight, the share it should get and the share it got, how its requests ended, and the
    /// answers from it that matched no request.
    public struct InstanceRow: Codable, Sendable, Equatable {
        public var address: String
        public var weight: Int
        public var expectedShare: Double
        public var observedShare: Double
        /// `ok + errors + unfinished`.
        public var requests: Int
        public var ok: Int
        public var errors: Int
        public var unfinished: Int
        /// Answers after their request timed out, answers to a request already answered, answers with an ID never
        /// sent on that connection (counted by the pool over the measured window).
        public var late: Int
        public var duplicate: Int
        public var unknownID: Int
        public var p50Us: Double
        public var p99Us: Double
        public var histogram: [[UInt64]]

        enum CodingKeys: String, CodingKey {
            case address, weight, requests, ok, errors, unfinished, late, duplicate, histogram
            case expectedShare = "expected_share", observedShare = "observed_share", p50Us = "p50_us", p99Us = "p99_us"
            case unknownID = "unknown_id"
        }
    }

    /// Something that happened during the run, `at` seconds from the start of the measured window.
    public struct Event: Codable, Sendable, Equatable {
        public var at: Double
        /// `joined`, `left`, `reweighted`, `ejected`, `returned`, `consul_unreachable`, `consul_recovered`,
        /// `rate_not_met`, `interrupted`.
        public var kind: String
        public var instance: String?
        public var message: String
    }

    /// One instance in one second of the timeline.
    public struct TimelineInstance: Codable, Sendable, Equatable {
        public var address: String
        public var requests: Int
        public var ok: Int
        public var errors: Int
        public var unfinished: Int
        public var p50Us: Double
        public var p99Us: Double

        enum CodingKeys: String, CodingKey {
            case address, requests, ok, errors, unfinished
            case p50Us = "p50_us", p99Us = "p99_us"
        }
    }

    /// One second of the measured window: the requests that finished in it, and (open loop) those due in it and
    /// never sent.
    public struct TimelineSecond: Codable, Sendable, Equatable {
        public var second: Int
        /// `ok + errors + unfinished`: the requests that finished in this second.
        public var requests: Int
        public var ok: Int
        public var errors: Int
        public var unfinished: Int
        public var dropped: Int
        public var p50Us: Double
        public var p99Us: Double
        /// `[value_ns, count]` pairs of the second's latencies (2 significant digits).
        public var histogram: [[UInt64]]
        public var instances: [TimelineInstance]

        enum CodingKeys: String, CodingKey {
            case second, requests, ok, errors, unfinished, dropped, histogram, instances
            case p50Us = "p50_us", p99Us = "p99_us"
        }
    }

    /// What running the load cost this client.
    public struct Client: Codable, Sendable, Equatable {
        public var maxRSSBytes: Int
        public var cpuSeconds: Double

        public init(maxRSSBytes: Int, cpuSeconds: Double) {
            self.maxRSSBytes = maxRSSBytes
            self.cpuSeconds = cpuSeconds
        }

        enum CodingKeys: String, CodingKey {
            case maxRSSBytes = "max_rss_bytes", cpuSeconds = "cpu_seconds"
        }
    }

    /// The pool's connections: wanted (per instance × instances), open at the end; connects made and failed over
    /// the run, and those that failed on this client's own limits.
    public struct Connections: Codable, Sendable, Equatable {
        public var wanted: Int
        public var open: Int
        public var opened: Int
        public var failed: Int
        public var clientLimited: Int
        public var firstClientLimit: String?

        public init(wanted: Int, open: Int, opened: Int, failed: Int, clientLimited: Int, firstClientLimit: String? = nil) {
            self.wanted = wanted
            self.open = open
            self.opened = opened
            self.failed = failed
            self.clientLimited = clientLimited
            self.firstClientLimit = firstClientLimit
        }

        enum CodingKeys: String, CodingKey {
            case wanted, open, opened, failed
            case clientLimited = "client_limited", firstClientLimit = "first_client_limit"
        }
    }

    /// The load as planned for all agents together (before `--shard` took this agent's part): what agents of one
    /// run share, and what `report merge` compares.
    public struct Plan: Codable, Sendable, Equatable {
        /// `closed` or `open`.
        public var mode: String
        /// `--concurrency` (`nil`: one request in flight per connection).
        public var concurrency: Int?
        public var rate: Double?
        public var rateRamp: Double?
        public var durationSeconds: Double?
        public var requests: Int?
        public var warmupSeconds: Double
        public var timeoutSeconds: Double
        /// Connections per instance, all agents together.
        public var conns: Int
        /// How many agents share the load (`--shard i/N`'s N).
        public var agents: Int

        public init(mode: String, concurrency: Int?, rate: Double?, rateRamp: Double?, durationSeconds: Double?, requests: Int?,
                    warmupSeconds: Double, timeoutSeconds: Double, conns: Int, agents: Int) {
            self.mode = mode
            self.concurrency = concurrency
            self.rate = rate
            self.rateRamp = rateRamp
            self.durationSeconds = durationSeconds
            self.requests = requests
            self.warmupSeconds = warmupSeconds
            self.timeoutSeconds = timeoutSeconds
            self.conns = conns
            self.agents = agents
        }

        enum CodingKeys: String, CodingKey {
            case mode, concurrency, rate, requests, conns, agents
            case rateRamp = "rate_ramp", durationSeconds = "duration_s", warmupSeconds = "warmup_s", timeoutSeconds = "timeout_s"
        }
    }

    /// Who ran a report's load: the agent's shard, run, host and measured window by its own clock.
    public struct Agent: Codable, Sendable, Equatable {
        /// `i/N`.
        public var shard: String
        public var runID: String?
        public var host: String
        public var pid: Int
        /// The measured window by this agent's wall clock (RFC 3339, milliseconds).
        public var startedAt: String?
        public var endedAt: String?
        /// The measured seconds and the rate over them, as the agent's own report says.
        public var seconds: Double
        public var requests: Int
        public var rps: Double
        /// Merged reports: seconds of this agent's window outside the window all agents shared.
        public var outsideSeconds: Double?
        /// Coordinated runs: the agreed start, and how old its record was when this agent read it (milliseconds:
        /// Consul's delay plus the difference between this agent's clock and the writer's).
        public var agreedStart: String?
        public var startRecordAgeMs: Double?

        public init(shard: String, runID: String?, host: String, pid: Int, startedAt: String?, endedAt: String?, seconds: Double,
                    requests: Int, rps: Double, outsideSeconds: Double? = nil, agreedStart: String? = nil, startRecordAgeMs: Double? = nil) {
            self.shard = shard
            self.runID = runID
            self.host = host
            self.pid = pid
            self.startedAt = startedAt
            self.endedAt = endedAt
            self.seconds = seconds
            self.requests = requests
            self.rps = rps
            self.outsideSeconds = outsideSeconds
            self.agreedStart = agreedStart
            self.startRecordAgeMs = startRecordAgeMs
        }

        enum CodingKeys: String, CodingKey {
            case shard, host, pid, seconds, requests, rps
            case runID = "run_id", startedAt = "started_at", endedAt = "ended_at", outsideSeconds = "outside_s"
            case agreedStart = "agreed_start", startRecordAgeMs = "start_record_age_ms"
        }
    }

    /// Merged reports: the window every agent's measured window covers (wall clock), over which the rate is taken.
    public struct Overlap: Codable, Sendable, Equatable {
        public var startedAt: String
        public var endedAt: String
        public var seconds: Double
        /// Of all agents' measured seconds, the share inside the window.
        public var share: Double

        enum CodingKeys: String, CodingKey {
            case seconds, share
            case startedAt = "started_at", endedAt = "ended_at"
        }
    }

    enum CodingKeys: String, CodingKey {
        case rps, mode, seconds, requests, sent, ok, errors, unfinished, dropped, unplaced, late, duplicate
        case latency, instances, events, timeline, histogram, runs, interrupted, client, connections
        case plan, agents, overlap
        case targetRps = "target_rps", errorRate = "error_rate", latencyUncorrected = "latency_uncorrected"
        case histogramUncorrected = "histogram_uncorrected", unknownID = "unknown_id", inFlightLimit = "in_flight_limit"
        case startedAt = "started_at", endedAt = "ended_at", command
    }

    /// Achieved sends per second over the measured time.
    public var rps: Double
    /// The open loop's target rate (the end rate of a ramp), `nil` in a closed loop.
    public var targetRps: Double?
    /// `closed` or `open`.
    public var mode: String
    public var seconds: Double
    /// Every measured request: `ok + errors + unfinished + dropped`.
    public var requests: Int
    /// Requests actually sent: `requests − dropped`.
    public var sent: Int
    public var ok: Int
    /// Failures by class: connect, closed, protocol, timeout, unavailable, invalid, …
    public var errors: [String: Int]
    /// Errors among the requests that finished (ok or an error).
    public var errorRate: Double
    /// Sent and still unanswered when an interrupt ended the run.
    public var unfinished: Int
    /// Open loop: due inside the window and never sent, because the in-flight limit was reached.
    public var dropped: Int
    /// Requests that belong to no instance: failed before one was picked.
    public var unplaced: Int
    public var late: Int
    public var duplicate: Int
    public var unknownID: Int
    /// Open loop: the most requests kept out at once.
    public var inFlightLimit: Int?
    /// From the intended send time in an open loop (coordinated omission corrected); from the send in a closed one.
    public var latency: Latency
    /// From the actual send, open loop only.
    public var latencyUncorrected: Latency?
    public var instances: [InstanceRow]
    public var events: [Event]
    public var timeline: [TimelineSecond]
    /// `[value_ns, count]` pairs of the latency histogram (corrected).
    public var histogram: [[UInt64]]
    public var histogramUncorrected: [[UInt64]]?
    /// How many runs (hosts) this report combines.
    public var runs: Int
    /// Whether SIGINT or SIGTERM cut the run short.
    public var interrupted: Bool
    public var client: Client?
    public var connections: Connections?
    /// The measured window by the wall clock (RFC 3339, milliseconds); a merged report's span from the first start to
    /// the last end.
    public var startedAt: String? = nil
    public var endedAt: String? = nil
    /// The load as planned for every agent together.
    public var plan: Plan? = nil
    /// The agents whose runs this report holds: one for a run's own report, one per run merged.
    public var agents: [Agent]? = nil
    /// Merged reports: the window all agents shared.
    public var overlap: Overlap? = nil
    /// The command line that made the run (for titles).
    public var command: String? = nil

    public var errorCount: Int { errors.values.reduce(0, +) }

    /// Every key, always: what a mode lacks is `null` (`target_rps`, `in_flight_limit`, `latency_uncorrected`,
    /// `histogram_uncorrected` in a closed loop), so a consumer sees one shape.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rps, forKey: .rps)
        try c.encode(targetRps, forKey: .targetRps)
        try c.encode(mode, forKey: .mode)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(requests, forKey: .requests)
        try c.encode(sent, forKey: .sent)
        try c.encode(ok, forKey: .ok)
        try c.encode(errors, forKey: .errors)
        try c.encode(errorRate, forKey: .errorRate)
        try c.encode(unfinished, forKey: .unfinished)
        try c.encode(dropped, forKey: .dropped)
        try c.encode(unplaced, forKey: .unplaced)
        try c.encode(late, forKey: .late)
        try c.encode(duplicate, forKey: .duplicate)
        try c.encode(unknownID, forKey: .unknownID)
        try c.encode(inFlightLimit, forKey: .inFlightLimit)
        try c.encode(latency, forKey: .latency)
        try c.encode(latencyUncorrected, forKey: .latencyUncorrected)
        try c.encode(instances, forKey: .instances)
        try c.encode(events, forKey: .events)
        try c.encode(timeline, forKey: .timeline)
        try c.encode(histogram, forKey: .histogram)
        try c.encode(histogramUncorrected, forKey: .histogramUncorrected)
        try c.encode(runs, forKey: .runs)
        try c.encode(interrupted, forKey: .interrupted)
        try c.encode(client, forKey: .client)
        try c.encode(connections, forKey: .connections)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(endedAt, forKey: .endedAt)
        try c.encode(plan, forKey: .plan)
        try c.encode(agents, forKey: .agents)
        try c.encode(overlap, forKey: .overlap)
        try c.encode(command, forKey: .command)
    }

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
        try JSONDecoder().decode(BenchReport.self, from: data)
    }
}

extension BenchReport {
    /// Builds the report of one run.
    public init(result: LoadResult, plan: LoadPlan, client: Client? = nil) {
        var targetRps: Double?
        var mode = "closed"
        if case let .open(rate, _) = plan.mode {
            targetRps = rate
            mode = "open"
        }
        let rows = Self.rows(result.instances.map {
            Self.Tally(address: $0.address, weight: $0.weight, ok: $0.ok, errors: $0.errors, unfinished: $0.unfinished,
                       late: $0.late, duplicate: $0.duplicate, unknown: $0.unknown, histogram: $0.histogram)
        })
        let finished = result.ok + result.errorCount
        self.init(
            rps: Self.round(result.rps, 1), targetRps: targetRps, mode: mode, seconds: Self.round(result.seconds, 3),
            requests: result.requests, sent: result.requests - result.dropped, ok: result.ok, errors: result.errors,
            errorRate: finished == 0 ? 0 : Self.round(Double(result.errorCount) / Double(finished), 6),
            unfinished: result.unfinished, dropped: result.dropped, unplaced: result.unplaced,
            late: result.instances.reduce(0) { $0 + $1.late }, duplicate: result.instances.reduce(0) { $0 + $1.duplicate },
            unknownID: result.instances.reduce(0) { $0 + $1.unknown }, inFlightLimit: result.inFlightLimit,
            latency: Self.summary(result.corrected),
            latencyUncorrected: mode == "open" ? Self.summary(result.uncorrected) : nil,
            instances: rows,
            events: result.events.map { Event(at: $0.at, kind: $0.kind, instance: $0.instance, message: $0.message) },
            timeline: result.timeline.map { s in
                TimelineSecond(
                    second: s.second, requests: s.ok + s.errors + s.unfinished, ok: s.ok, errors: s.errors,
                    unfinished: s.unfinished, dropped: s.dropped, p50Us: Self.us(s.p50), p99Us: Self.us(s.p99),
                    histogram: s.histogram,
                    instances: s.instances.map {
                        TimelineInstance(address: $0.address, requests: $0.ok + $0.errors + $0.unfinished, ok: $0.ok,
                                         errors: $0.errors, unfinished: $0.unfinished, p50Us: Self.us($0.p50), p99Us: Self.us($0.p99))
                    })
            },
            histogram: Self.buckets(result.corrected),
            histogramUncorrected: mode == "open" ? Self.buckets(result.uncorrected) : nil,
            runs: 1, interrupted: result.interrupted, client: client,
            connections: result.connections.map {
                Connections(wanted: $0.wanted, open: $0.open, opened: $0.opened, failed: $0.failed,
                            clientLimited: $0.clientLimited, firstClientLimit: $0.firstClientLimit)
            })
        startedAt = result.startedAt.map(Self.timestamp)
        endedAt = result.endedAt.map(Self.timestamp)
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-02T01:02:03.456Z`.
    public static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }

    /// An RFC 3339 time, with or without fractional seconds; `nil` when it is not one.
    public static func date(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }

    /// An instance's counts, before shares are worked out.
    struct Tally {
        var address: String
        var weight: Int
        var ok = 0
        var errors = 0
        var unfinished = 0
        var late = 0
        var duplicate = 0
        var unknown = 0
        var histogram = LoadRecorder.makeHistogram()

        var requests: Int { ok + errors + unfinished }
    }

    /// Rows with shares, heaviest first: expected from the weights, observed from the requests.
    static func rows(_ tallies: [Tally]) -> [InstanceRow] {
        let totalWeight = tallies.reduce(0) { $0 + $1.weight }
        let totalRequests = tallies.reduce(0) { $0 + $1.requests }
        return tallies.map { t in
            InstanceRow(
                address: t.address, weight: t.weight,
                expectedShare: totalWeight == 0 ? 0 : round(Double(t.weight) / Double(totalWeight), 6),
                observedShare: totalRequests == 0 ? 0 : round(Double(t.requests) / Double(totalRequests), 6),
                requests: t.requests, ok: t.ok, errors: t.errors, unfinished: t.unfinished,
                late: t.late, duplicate: t.duplicate, unknownID: t.unknown,
                p50Us: t.histogram.totalCount == 0 ? 0 : us(t.histogram.valueAtPercentile(50)),
                p99Us: t.histogram.totalCount == 0 ? 0 : us(t.histogram.valueAtPercentile(99)),
                histogram: buckets(t.histogram))
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
