import Histogram
import NIOCore
import NIOConcurrencyHelpers
import Synchronization

/// Runs a ``LoadPlan`` through a pool and records it. Requests are sent from the event loops: in a closed loop
/// each completion sends the next; in an open loop a timer on one event loop sends whatever is due (each request
/// carries its index, so its intended send time needs no storage). Nothing is allocated per request.
public final class LoadEngine: ResponseSink {
    public let plan: LoadPlan
    public let recorder = LoadRecorder()
    private let pool: ConnectionPool
    private let body: ByteBuffer
    private let validate: (@Sendable (ByteBuffer) -> String?)?
    private let loop: any EventLoop
    private let timing = NIOLockedValueBox(Timing())
    private let stopping = Atomic<Bool>(false)
    private let submitted = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    private let inFlight = Atomic<Int>(0)

    /// The run's clock, fixed by ``start()``: plain values, read on every response without copying the rest.
    struct Window: Sendable {
        var start = NIODeadline.now()
        var measureFrom = NIODeadline.now()
        var stopAt = NIODeadline.distantFuture

        /// The whole run (warm-up included) in seconds, 0 when it ends by request count.
        var totalSeconds: Double {
            stopAt == .distantFuture ? 0 : Double((stopAt - start).nanoseconds) / 1e9
        }
    }

    struct Timing: Sendable {
        var window = Window()
        var ticker: Scheduled<Void>?
        var nextIndex = 0
    }

    /// `validate` returns why a response body is not acceptable (it then counts as an `invalid` error), or nil.
    public init(
        pool: ConnectionPool, plan: LoadPlan, body: ByteBuffer, eventLoop: any EventLoop,
        validate: (@Sendable (ByteBuffer) -> String?)? = nil
    ) {
        self.pool = pool
        self.plan = plan
        self.body = body
        self.loop = eventLoop
        self.validate = validate
    }

    /// How many requests the run sends at most (`requests` plans), else `Int.max`.
    private var requestLimit: Int {
        if case let .requests(n) = plan.stop { return n }
        return .max
    }

    /// Starts the load; returns at once.
    public func start() {
        let now = NIODeadline.now()
        let measureFrom = now + TimeAmount(plan.warmup)
        var stopAt = NIODeadline.distantFuture
        if case let .duration(d) = plan.stop { stopAt = measureFrom + TimeAmount(d) }
        timing.withLockedValue { $0.window = Window(start: now, measureFrom: measureFrom, stopAt: stopAt) }
        switch plan.mode {
        case let .closed(concurrency):
            for tag in 0..<concurrency { send(tag: UInt64(tag)) }
        case .open:
            loop.execute { [self] in tick() }
        }
    }

    /// Stops sending and waits (up to the request timeout and a second more) for what is in flight.
    public func finish() async -> LoadResult {
        stopping.store(true, ordering: .relaxed)
        timing.withLockedValue { $0.ticker?.cancel() }
        let end = ContinuousClock.now + plan.timeout + .seconds(1)
        while inFlight.load(ordering: .relaxed) > 0, ContinuousClock.now < end {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return result(at: .now())
    }

    /// Whether a `requests` plan has had all its answers (a `duration` plan ends by the clock).
    public var isComplete: Bool {
        if case .requests = plan.stop { return completed.load(ordering: .relaxed) >= requestLimit }
        return NIODeadline.now() >= window.stopAt
    }

    /// What has been recorded so far, for progress lines and the final report.
    public func result(at now: NIODeadline = .now()) -> LoadResult {
        let t = window
        let measuredEnd = min(now, t.stopAt)
        let seconds = max(0, Double((measuredEnd - t.measureFrom).nanoseconds) / 1e9)
        return recorder.state.withLockedValue { s in
            LoadResult(
                seconds: seconds, ok: s.ok, errors: s.errors, lastError: s.lastError,
                corrected: s.corrected, uncorrected: s.uncorrected,
                instances: s.instances.mapValues { LoadResult.InstanceResult(ok: $0.ok, errors: $0.errors, histogram: $0.histogram) })
        }
    }

    // MARK: sending

    private func send(tag: UInt64) {
        guard !stopping.load(ordering: .relaxed) else { return }
        let n = submitted.add(1, ordering: .relaxed).newValue
        guard n <= requestLimit else { return }
        inFlight.add(1, ordering: .relaxed)
        pool.submit(body, timeout: plan.timeout, sink: self, tag: tag)
    }

    /// Open loop: sends every request due by now, then sleeps until the next one is due (at least 50 µs, so a
    /// high rate costs one timer per batch, not one per request).
    private func tick() {
        guard case let .open(rate, from) = plan.mode, !stopping.load(ordering: .relaxed) else { return }
        let now = NIODeadline.now()
        let (t, first) = timing.withLockedValue { ($0.window, $0.nextIndex) }
        if now >= t.stopAt { return }
        var index = first
        var due = NIODeadline.distantFuture
        while index < requestLimit {
            due = Self.due(index, rate: rate, from: from, in: t)
            guard due <= now else { break }
            send(tag: UInt64(index))
            index += 1
        }
        guard index < requestLimit else { return }
        let next = max(due, now + .microseconds(50))
        let ticker = loop.scheduleTask(deadline: next) { [self] in tick() }
        timing.withLockedValue {
            $0.nextIndex = index
            $0.ticker = ticker
        }
    }

    private var window: Window { timing.withLockedValue { $0.window } }

    /// When request `index` of an open loop is due.
    private static func due(_ index: Int, rate: Double, from: Double?, in w: Window) -> NIODeadline {
        w.start + .nanoseconds(Int64(LoadPlan.dueOffset(index: index, rate: rate, from: from, over: w.totalSeconds) * 1e9))
    }

    public func received(_ result: Result<PoolResponse, PoolError>, tag: UInt64) {
        inFlight.subtract(1, ordering: .relaxed)
        completed.add(1, ordering: .relaxed)
        let now = NIODeadline.now()
        let t = window
        var intended: NIODeadline?
        if case let .open(rate, from) = plan.mode { intended = Self.due(Int(tag), rate: rate, from: from, in: t) }
        // Only what was sent (open loop: due) inside the measured window counts.
        let reference = intended ?? now
        if reference >= t.measureFrom, now <= t.stopAt {
            switch result {
            case let .success(response):
                if let validate, let problem = validate(response.body) {
                    recorder.failure(class: "invalid", instance: response.instance, message: "\(response.instance): \(problem)")
                } else {
                    let uncorrected = response.latencyNanoseconds
                    let corrected = intended.map { (now - $0).nanoseconds } ?? uncorrected
                    recorder.success(instance: response.instance, latency: max(corrected, uncorrected), uncorrected: uncorrected)
                }
            case let .failure(error):
                recorder.failure(class: error.errorClass.rawValue, instance: error.instance, message: error.description)
            }
        }
        guard case .closed = plan.mode else { return }
        if case let .failure(error) = result, error.errorClass == .unavailable || error.errorClass == .connect {
            // Nothing to send to (all ejected, none connected): try again shortly rather than spin on failures.
            loop.scheduleTask(in: .milliseconds(10)) { [self] in send(tag: tag) }
        } else {
            send(tag: tag)
        }
    }
}

/// A run's numbers.
public struct LoadResult: Sendable {
    public struct InstanceResult: Sendable {
        public var ok: Int
        public var errors: Int
        public var histogram: LatencyHistogram
    }

    /// The measured time (warm-up excluded).
    public var seconds: Double
    public var ok: Int
    public var errors: [String: Int]
    public var lastError: [String: String]
    public var corrected: LatencyHistogram
    public var uncorrected: LatencyHistogram
    public var instances: [String: InstanceResult]

    public var requests: Int { ok + errors.values.reduce(0, +) }
    public var rps: Double { seconds > 0 ? Double(requests) / seconds : 0 }
}
