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

    /// Seconds from the start of the measured part at which request `index` is due in an open loop: solves
    /// `from·t + (rate − from)·t² / (2T) = index` for a ramp over `T` seconds, `index / rate` without one.
    static func dueOffset(index: Int, rate: Double, from: Double?, over seconds: Double) -> Double {
        let n = Double(index)
        guard let from, from != rate, seconds > 0 else { return n / rate }
        let a = (rate - from) / (2 * seconds)
        let disc = from * from + 4 * a * n
        return (-from + disc.squareRoot()) / (2 * a)
    }
}
