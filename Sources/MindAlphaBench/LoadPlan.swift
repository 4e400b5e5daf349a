import MindAlphaPool

/// What load to put on a pool, for how long.
public struct LoadPlan: Sendable, Hashable {
    public enum Mode: Sendable, Hashable {
        /// A fixed number of requests in flight: each completion sends the next.
        case closed(concurrency: Int)
        /// Requests sent on a schedule: `rate` per second, or rising linearly from `from` to `rate` over the run.
        /// Latency is measured from each request's intended send time (coordinated omission corrected).
        case open(rate: Double, from: Double?)
    }

    public enum Stop: Sendable, Hashable {
        case duration(Duration)
        case requests(Int)
    }

    public var mode: Mode
    public var stop: Stop
    /// Results in this first stretch are not recorded (the run is that much longer).
    public var warmup: Duration
    public var timeout: Duration

    public init(mode: Mode, stop: Stop, warmup: Duration = .zero, timeout: Duration = .seconds(1)) {
        self.mode = mode
        self.stop = stop
        self.warmup = warmup
        self.timeout = timeout
    }

    /// Seconds from the start of the run at which request `index` is due in an open loop: `index / rate`, or on a
    /// ramp over `T` seconds the solution of `from·t + (rate − from)·t² / (2T) = index` (in the form that stays
    /// exact when the rates are close: `2·index / (from + √(from² + 4a·index))`), and at `rate` after the ramp.
    static func dueOffset(index: Int, rate: Double, from: Double?, over seconds: Double) -> Double {
        let n = Double(index)
        guard let from, from != rate, seconds > 0 else { return n / rate }
        let total = seconds * (from + rate) / 2
        if n >= total { return seconds + (n - total) / rate }
        let a = (rate - from) / (2 * seconds)
        let root = max(0, from * from + 4 * a * n).squareRoot()
        return from + root == 0 ? 0 : 2 * n / (from + root)
    }

    /// How many requests of an open loop are due in its first `t` seconds (the inverse of ``dueOffset``, before
    /// rounding).
    static func dueCount(at t: Double, rate: Double, from: Double?, over seconds: Double) -> Double {
        guard let from, from != rate, seconds > 0 else { return rate * t }
        if t >= seconds { return seconds * (from + rate) / 2 + rate * (t - seconds) }
        return from * t + (rate - from) * t * t / (2 * seconds)
    }
}
