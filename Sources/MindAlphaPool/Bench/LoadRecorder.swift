import Histogram
import NIOConcurrencyHelpers

/// Latencies and outcomes of a run: overall (corrected and, in an open loop, uncorrected) and per instance.
/// Recorded from the event loops under one lock; read once the run is over.
/// Latencies in nanoseconds (HdrHistogram: mergeable, exact to 3 significant digits).
public typealias LatencyHistogram = Histogram<UInt64>

public final class LoadRecorder: Sendable {
    /// Latencies are kept in nanoseconds to 3 significant digits, from 1 µs to 1 hour.
    public static func makeHistogram() -> LatencyHistogram {
        LatencyHistogram(lowestDiscernibleValue: 1_000, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
    }

    struct PerInstance: Sendable {
        var histogram = LoadRecorder.makeHistogram()
        var ok = 0
        var errors = 0
    }

    struct State: Sendable {
        var corrected = LoadRecorder.makeHistogram()
        var uncorrected = LoadRecorder.makeHistogram()
        var ok = 0
        var errors: [String: Int] = [:]
        var instances: [String: PerInstance] = [:]
        /// The last error message per class, to show what went wrong.
        var lastError: [String: String] = [:]
    }

    let state = NIOLockedValueBox(State())

    public init() {}

    /// A response: `latency` from the intended send time, `uncorrected` from the actual one (the same in a closed loop).
    func success(instance: String, latency: Int64, uncorrected: Int64) {
        let corrected = Self.clamp(latency)
        let raw = Self.clamp(uncorrected)
        state.withLockedValue { s in
            s.ok += 1
            _ = s.corrected.record(corrected)
            _ = s.uncorrected.record(raw)
            s.instances[instance, default: PerInstance()].ok += 1
            _ = s.instances[instance]!.histogram.record(corrected)
        }
    }

    /// A failed request, by class (``PoolError/Class``, or `invalid` for an answer that is not a valid response).
    func failure(class errorClass: String, instance: String?, message: String) {
        state.withLockedValue { s in
            s.errors[errorClass, default: 0] += 1
            if s.lastError[errorClass] == nil { s.lastError[errorClass] = message }
            if let instance { s.instances[instance, default: PerInstance()].errors += 1 }
        }
    }

    private static func clamp(_ ns: Int64) -> UInt64 { UInt64(min(max(ns, 1_000), 3_600_000_000_000)) }
}
