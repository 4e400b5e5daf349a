import Histogram
import MindAlphaPool

/// A run second by second, built as results come in: counts for every second of the measured window, and latency
/// percentiles from a histogram of the current second only (reset when the next begins), so a long run adds a few
/// numbers a second, not a histogram a second.
struct LoadTimeline: Sendable {
    /// How requests that finished in a second ended.
    struct Counts: Sendable, Hashable {
        var ok = 0
        var errors = 0
        var unfinished = 0

        var requests: Int { ok + errors + unfinished }

        mutating func add(_ outcome: LoadOutcome.Kind) {
            switch outcome {
            case .ok: ok += 1
            case .error: errors += 1
            case .unfinished: unfinished += 1
            }
        }
    }

    /// One instance in one second; percentiles in nanoseconds (0: nothing succeeded).
    struct InstanceSecond: Sendable, Hashable {
        var counts = Counts()
        var p50: UInt64 = 0
        var p99: UInt64 = 0
    }

    /// One second of the measured window.
    struct Second: Sendable {
        var counts = Counts()
        var p50: UInt64 = 0
        var p99: UInt64 = 0
        /// The second's latency histogram (`[value_ns, count]`, 2 significant digits), for merging runs later.
        var buckets: [[UInt64]] {
            stride(from: 0, to: flatBuckets.count - 1, by: 2).map { [flatBuckets[$0], flatBuckets[$0 + 1]] }
        }
        /// ``buckets`` as they are kept while the run goes on: value, count, value, count… (one array a second, where
        /// an array per bucket was some 600 allocations a second on the engine's thread).
        var flatBuckets: [UInt64] = []
        /// By the recorder's instance slot; `nil` where the instance finished nothing that second.
        var instances: [InstanceSecond?] = []
    }

    /// Latencies of one second, to 2 significant digits (27 KiB, against 196 KiB at 3 digits).
    static func makeHistogram() -> LatencyHistogram {
        LatencyHistogram(lowestDiscernibleValue: 1_000, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .two)
    }

    private(set) var seconds: [Second] = []
    private var current = -1
    private var histogram = LoadTimeline.makeHistogram()
    private var instanceHistograms: [LatencyHistogram] = []
    private var touched: [Int] = []
    /// Results after the window's last second (the last answers of a duration run) count in that second.
    private let lastSecond: Int?

    init(lastSecond: Int?) { self.lastSecond = lastSecond }

    /// Counts a result that finished in `second` (from the window's start) at the instance in `slot`; `latency`
    /// (nanoseconds, already clamped to the histogram's range) for a success. A result for a second already
    /// closed (another thread's, a moment late) is counted there, its latency in the current second.
    mutating func add(second: Int, slot: Int?, _ outcome: LoadOutcome.Kind, latency: UInt64?) {
        var s = max(0, second)
        if let lastSecond { s = min(s, lastSecond) }
        if s > current { advance(to: s) }
        seconds[s].counts.add(outcome)
        if let slot {
            while seconds[s].instances.count <= slot { seconds[s].instances.append(nil) }
            seconds[s].instances[slot, default: InstanceSecond()].counts.add(outcome)
        }
        guard let latency else { return }
        _ = histogram.record(latency)
        if let slot {
            while instanceHistograms.count <= slot { instanceHistograms.append(Self.makeHistogram()) }
            if instanceHistograms[slot].totalCount == 0 { touched.append(slot) }
            _ = instanceHistograms[slot].record(latency)
        }
    }

    /// Closes the current second and makes the timeline run through second `last`: seconds missing are added
    /// empty, counts of seconds past it are folded into it (call once, at the end).
    mutating func finish(through last: Int) {
        if current >= 0, current < .max { close(current) }
        current = .max
        guard last >= 0 else {
            seconds = []
            return
        }
        while seconds.count <= last { seconds.append(Second()) }
        for extra in seconds[(last + 1)...] {
            seconds[last].counts.ok += extra.counts.ok
            seconds[last].counts.errors += extra.counts.errors
            seconds[last].counts.unfinished += extra.counts.unfinished
            for (slot, entry) in extra.instances.enumerated() {
                guard let entry else { continue }
                while seconds[last].instances.count <= slot { seconds[last].instances.append(nil) }
                seconds[last].instances[slot, default: InstanceSecond()].counts.ok += entry.counts.ok
                seconds[last].instances[slot, default: InstanceSecond()].counts.errors += entry.counts.errors
                seconds[last].instances[slot, default: InstanceSecond()].counts.unfinished += entry.counts.unfinished
            }
        }
        seconds.removeSubrange((last + 1)...)
    }

    /// The most recent second that has ended before `second`: its counts and p99 (for a progress line).
    func recent(before second: Int) -> (counts: Counts, p99: UInt64)? {
        let s = min(second - 1, seconds.count - 1)
        guard s >= 0 else { return nil }
        if s == current {
            return (seconds[s].counts, histogram.totalCount == 0 ? 0 : histogram.valueAtPercentile(99))
        }
        return (seconds[s].counts, seconds[s].p99)
    }

    private mutating func advance(to s: Int) {
        if current >= 0 { close(current) }
        while seconds.count <= s { seconds.append(Second()) }
        current = s
    }

    /// Fixes a second's percentiles and resets the histograms for the next.
    private mutating func close(_ s: Int) {
        if histogram.totalCount > 0 {
            seconds[s].p50 = histogram.valueAtPercentile(50)
            seconds[s].p99 = histogram.valueAtPercentile(99)
            var flat: [UInt64] = []
            for bucket in histogram.recordedValues() {
                flat.append(bucket.value)
                flat.append(bucket.count)
            }
            seconds[s].flatBuckets = flat
            histogram.reset()
        }
        for slot in touched {
            if slot < seconds[s].instances.count, seconds[s].instances[slot] != nil {
                seconds[s].instances[slot]!.p50 = instanceHistograms[slot].valueAtPercentile(50)
                seconds[s].instances[slot]!.p99 = instanceHistograms[slot].valueAtPercentile(99)
            }
            instanceHistograms[slot].reset()
        }
        touched.removeAll(keepingCapacity: true)
    }
}

extension Array {
    /// Reads and writes an optional element in place, creating it from `defaultValue` when `nil`.
    fileprivate subscript<Wrapped>(index: Int, default defaultValue: @autoclosure () -> Wrapped) -> Wrapped
    where Element == Wrapped? {
        get { self[index] ?? defaultValue() }
        set { self[index] = newValue }
    }
}
