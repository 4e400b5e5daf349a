import Foundation
import MindAlphaPool

/// A run's numbers, once it is over: every measured request in exactly one bucket (ok, an error class,
/// unfinished, or, in an open loop, dropped), overall, per instance, per second; and what happened meanwhile.
public struct LoadResult: Sendable {
    /// One instance's part.
    public struct InstanceResult: Sendable {
        public var address: String
        /// Its last known weight.
        public var weight: Int
        public var ok: Int
        public var errors: Int
        public var unfinished: Int
        /// Answers that matched no request in flight, counted by the pool over the measured window: after their
        /// request timed out (`late`), for a request already answered (`duplicate`), or for an ID never sent on
        /// that connection (`unknown`).
        public var late: Int
        public var duplicate: Int
        public var unknown: Int
        /// Latencies of its successes (corrected, in an open loop).
        public var histogram: LatencyHistogram

        public var requests: Int { ok + errors + unfinished }
    }

    /// One instance in one second.
    public struct InstanceSecond: Sendable, Hashable {
        public var address: String
        public var ok: Int
        public var errors: Int
        public var unfinished: Int
        /// Nanoseconds; 0 when nothing succeeded.
        public var p50: UInt64
        public var p99: UInt64
    }

    /// One second of the measured window: what finished in it (and, in an open loop, what was due in it and never
    /// sent).
    public struct Second: Sendable, Hashable {
        public var second: Int
        public var ok: Int
        public var errors: Int
        public var unfinished: Int
        public var dropped: Int
        /// Nanoseconds; 0 when nothing succeeded.
        public var p50: UInt64
        public var p99: UInt64
        /// `[value_ns, count]` pairs of the second's latency histogram (2 significant digits).
        public var histogram: [[UInt64]]
        public var instances: [InstanceSecond]
    }

    /// Something that happened during the run, `at` seconds from the start of the measured window (negative
    /// before it: while connecting or warming up).
    public struct Event: Sendable, Hashable {
        public var at: Double
        /// `joined`, `left`, `reweighted`, `ejected`, `returned`, `consul_unreachable`, `consul_recovered`,
        /// `rate_not_met`, `interrupted`.
        public var kind: String
        public var instance: String?
        public var message: String
    }

    /// The pool's connections at the end of the run, and its connects over the whole run.
    public struct Connections: Sendable, Hashable {
        /// Connections per instance × instances.
        public var wanted: Int
        public var open: Int
        public var opened: Int
        public var failed: Int
        /// Connects that failed on this client's own limits (too many open files, no local port left).
        public var clientLimited: Int
        public var firstClientLimit: String?
    }

    /// The measured window by the wall clock: its start (the warm-up's end) and its end; `nil` when nothing ran.
    public var startedAt: Date?
    public var endedAt: Date?
    /// The measured time (warm-up excluded): the duration, up to an interrupt, or until the last answer of a
    /// `requests` run.
    public var seconds: Double
    /// Measured requests sent (handed to the pool).
    public var sent: Int
    public var ok: Int
    /// Failures by class.
    public var errors: [String: Int]
    /// The first error message of each class.
    public var firstError: [String: String]
    /// Sent and never finished: still unanswered when an interrupt ended the run.
    public var unfinished: Int
    /// Open loop: due inside the window and never sent, because the in-flight limit was reached (as k6's
    /// dropped_iterations).
    public var dropped: Int
    /// Results that belong to no instance (failed before one was picked, or unfinished with none known).
    public var unplaced: Int
    public var corrected: LatencyHistogram
    public var uncorrected: LatencyHistogram
    public var instances: [InstanceResult]
    public var timeline: [Second]
    public var events: [Event]
    /// Open loop: the most requests the engine kept out at once.
    public var inFlightLimit: Int?
    public var interrupted: Bool
    public var connections: Connections?

    public var errorCount: Int { errors.values.reduce(0, +) }
    /// Every measured request: ok + errors + unfinished + dropped.
    public var requests: Int { ok + errorCount + unfinished + dropped }
    /// Achieved sends per second.
    public var rps: Double { seconds > 0 ? Double(requests - dropped) / seconds : 0 }
}

extension LoadResult {
    /// A run that measured nothing: interrupted while `phase` (connecting), before the load started.
    public static func nothing(interrupted: Bool, during phase: String) -> LoadResult {
        LoadResult(
            startedAt: nil, endedAt: nil, seconds: 0, sent: 0, ok: 0, errors: [:], firstError: [:], unfinished: 0, dropped: 0, unplaced: 0,
            corrected: LoadRecorder.makeHistogram(), uncorrected: LoadRecorder.makeHistogram(), instances: [], timeline: [],
            events: interrupted ? [Event(at: 0, kind: "interrupted", instance: nil, message: "interrupted while \(phase): nothing was measured")] : [],
            inFlightLimit: nil, interrupted: interrupted, connections: nil)
    }
}
