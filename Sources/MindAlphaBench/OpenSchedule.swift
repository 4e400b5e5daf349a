import MindAlphaPool
import NIOCore

/// An open loop's send times, computed and never stored: request `i` is due at `origin + offset(i)`, at a fixed
/// rate or on a linear ramp. However high the rate, the schedule costs nothing but the index of the next request.
struct OpenSchedule: Sendable {
    let origin: NIODeadline
    let rate: Double
    /// The ramp's start rate, or `nil` for a fixed rate.
    let from: Double?
    /// The ramp's span in seconds.
    let span: Double

    init(origin: NIODeadline, rate: Double, from: Double?, span: Double) {
        self.origin = origin
        self.rate = rate
        self.from = from
        self.span = span
    }

    /// When request `index` is due.
    func due(_ index: Int) -> NIODeadline {
        origin + .nanoseconds(Int64(LoadPlan.dueOffset(index: index, rate: rate, from: from, over: span) * 1e9))
    }

    /// How many requests are due before `t`: the first index whose due time is `t` or later. Exact against
    /// ``due(_:)`` (an estimate from the rate, corrected by comparing due times).
    func count(before t: NIODeadline) -> Int {
        let seconds = Double((t - origin).nanoseconds) / 1e9
        guard seconds > 0 else { return 0 }
        let estimate = LoadPlan.dueCount(at: seconds, rate: rate, from: from, over: span)
        var n = max(0, Int(min(estimate.rounded(.up), Double(Int.max / 2))))
        while n > 0, due(n - 1) >= t { n -= 1 }
        while due(n) < t { n += 1 }
        return n
    }
}
