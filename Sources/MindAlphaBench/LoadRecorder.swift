import Histogram
import MindAlphaPool
import NIOConcurrencyHelpers
import NIOCore

/// Latencies in nanoseconds (HdrHistogram: mergeable, exact to 3 significant digits).
public typealias LatencyHistogram = Histogram<UInt64>

/// How one measured request ended.
enum LoadOutcome {
    enum Kind: Sendable { case ok, error, unfinished }
}

/// What a run measured: every measured request once, as ok, one error class or unfinished; latencies overall
/// (corrected and, in an open loop, uncorrected), per instance and per second. Recorded from the event loops under
/// one lock; sealed once at the end, after which late results are ignored (they were counted as unfinished).
public final class LoadRecorder: Sendable {
    /// Latencies are kept in nanoseconds to 3 significant digits, from 1 µs to 1 hour.
    public static func makeHistogram() -> LatencyHistogram {
        LatencyHistogram(lowestDiscernibleValue: 1_000, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
    }

    /// One instance's requests in the measured window.
    struct InstanceTotals: Sendable {
        let address: String
        var ok = 0
        var errors = 0
        var unfinished = 0
        var histogram = LoadRecorder.makeHistogram()

        init(address: String) { self.address = address }

        var requests: Int { ok + errors + unfinished }
    }

    struct State: Sendable {
        var sealed = false
        /// Measured requests that have finished (every outcome).
        var finished = 0
        var ok = 0
        var errors: [String: Int] = [:]
        /// The first error message per class, to show what went wrong.
        var firstError: [String: String] = [:]
        var unfinished = 0
        /// Results that name no instance (failed before one was picked, or left unfinished at the seal).
        var unplaced = 0
        var corrected = LoadRecorder.makeHistogram()
        var uncorrected = LoadRecorder.makeHistogram()
        var slots: [String: Int] = [:]
        /// The slot of each pool instance number seen (``PoolResponse/instanceNumber``), -1 where none was: an array
        /// index per answer instead of hashing its address.
        var slotsByNumber: [Int] = []
        var instances: [InstanceTotals] = []
        var timeline: LoadTimeline

        mutating func slot(_ address: String) -> Int {
            if let slot = slots[address] { return slot }
            let slot = instances.count
            slots[address] = slot
            instances.append(InstanceTotals(address: address))
            return slot
        }

        mutating func slot(_ address: String, number: Int) -> Int {
            if number < slotsByNumber.count, slotsByNumber[number] >= 0 { return slotsByNumber[number] }
            while slotsByNumber.count <= number { slotsByNumber.append(-1) }
            let slot = slot(address)
            slotsByNumber[number] = slot
            return slot
        }
    }

    let state: NIOLockedValueBox<State>
    private let measureFrom: NIODeadline
    private let keepsUncorrected: Bool

    /// `lastSecond`: the window's last second (results after it count there), `nil` when the run ends by count.
    /// `uncorrected`: whether latencies from the actual send are kept apart (an open loop's; in a closed loop they
    /// are the corrected ones).
    init(measureFrom: NIODeadline, lastSecond: Int?, uncorrected: Bool) {
        self.measureFrom = measureFrom
        self.keepsUncorrected = uncorrected
        self.state = NIOLockedValueBox(State(timeline: LoadTimeline(lastSecond: lastSecond)))
    }

    private func second(_ now: NIODeadline) -> Int { Int((now - measureFrom).nanoseconds / 1_000_000_000) }

    /// An answer: `latency` from the intended send time (in a closed loop, the actual one: the response's own).
    /// Returns how many measured requests have finished, or `nil` once sealed.
    func success(_ response: PoolResponse, latency: Int64, at now: NIODeadline) -> Int? {
        let corrected = Self.clamp(latency)
        let raw = Self.clamp(response.latencyNanoseconds)
        let second = second(now)
        return state.withLockedValue { s in
            guard !s.sealed else { return nil }
            s.finished += 1
            s.ok += 1
            _ = s.corrected.record(corrected)
            if keepsUncorrected { _ = s.uncorrected.record(raw) }
            let slot = s.slot(response.instance, number: response.instanceNumber)
            s.instances[slot].ok += 1
            _ = s.instances[slot].histogram.record(corrected)
            s.timeline.add(second: second, slot: slot, .ok, latency: corrected)
            return s.finished
        }
    }

    /// A failed request, by class (``PoolError/Class``, or `invalid` for an answer that is not a valid response).
    func failure(class errorClass: String, instance: String?, message: String, at now: NIODeadline) -> Int? {
        finish(.error, instance: instance, at: now) { s in
            s.errors[errorClass, default: 0] += 1
            if s.firstError[errorClass] == nil { s.firstError[errorClass] = message }
        }
    }

    /// A request still unanswered when the run ended (given up at an interrupt or past its grace).
    func unfinished(instance: String?, at now: NIODeadline) -> Int? {
        finish(.unfinished, instance: instance, at: now) { $0.unfinished += 1 }
    }

    /// Counts a request that finished without an answer, in the totals (`count`), its instance (or unplaced) and
    /// its second.
    private func finish(_ kind: LoadOutcome.Kind, instance: String?, at now: NIODeadline, count: (inout State) -> Void) -> Int? {
        let second = second(now)
        return state.withLockedValue { s in
            guard !s.sealed else { return nil }
            s.finished += 1
            count(&s)
            var slot: Int?
            if let instance {
                let i = s.slot(instance)
                slot = i
                if kind == .error { s.instances[i].errors += 1 } else { s.instances[i].unfinished += 1 }
            } else {
                s.unplaced += 1
            }
            s.timeline.add(second: second, slot: slot, kind, latency: nil)
            return s.finished
        }
    }

    /// How many measured requests have finished.
    var finished: Int { state.withLockedValue { $0.finished } }

    /// Ends recording: of the `sent` measured requests, those that have not finished count as unfinished (with no
    /// instance: the pool never returned them). Later results are ignored. Returns the final state; the timeline
    /// runs through second `last`. The first call decides; later ones return the same.
    func seal(sent: Int, throughSecond last: Int) -> State {
        state.withLockedValue { s in
            if !s.sealed {
                s.sealed = true
                let missing = max(0, sent - s.finished)
                s.unfinished += missing
                s.unplaced += missing
                s.finished += missing
                s.timeline.finish(through: last)
            }
            return s
        }
    }

    /// For a progress line: measured requests finished so far, errors among them, and the last full second's
    /// finished count and p99 (nanoseconds), before `second`.
    func progress(second: Int) -> (finished: Int, errors: Int, lastSecond: (requests: Int, p99: UInt64)?) {
        state.withLockedValue { s in
            let recent = s.timeline.recent(before: second).map { ($0.counts.requests, $0.p99) }
            return (s.finished, s.finished - s.ok - s.unfinished, recent)
        }
    }

    static func clamp(_ ns: Int64) -> UInt64 { UInt64(min(max(ns, 1_000), 3_600_000_000_000)) }
}
