import Foundation
import Histogram
import MindAlphaPool
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// Runs a ``LoadPlan`` through a pool and records it, from the event loops: in a closed loop each completion sends
/// the next request; in an open loop the schedule is a clock (``OpenSchedule``): a timer and every completion send
/// whatever is due, up to an in-flight limit, so memory stays bounded whatever the rate. Nothing is allocated per
/// request.
///
/// Every measured request ends in exactly one bucket: ok, an error class, unfinished (still unanswered when an
/// interrupt ended the run) or, in an open loop, dropped (due inside the window and never sent, the limit being
/// reached). A request belongs to the measured window by its (intended, in an open loop) send time; a duration run
/// stops sending when the window closes and waits for the answers already asked for, which the pool's timeout
/// bounds. ``interrupt()`` ends a run within half a second.
///
/// ```swift
/// let engine = LoadEngine.start(pool: pool, plan: plan, body: body, eventLoop: group.next())
/// let result = await engine.result()
/// ```
public final class LoadEngine: ResponseSink {
    public let plan: LoadPlan
    private let pool: ConnectionPool
    private let body: ByteBuffer
    private let validate: (@Sendable (ByteBuffer) -> String?)?
    private let loop: any EventLoop
    private let window: Window
    private let schedule: OpenSchedule?
    private let recorder: LoadRecorder
    /// Open loop: the first measured index (those before are the warm-up's) and the first index past the plan.
    private let firstMeasured: Int
    private let indexLimit: Int
    /// Closed loop: measured sends so far; open loop: the next index to send. ``closedBit`` once the window closed.
    private let claims = Atomic<Int>(0)
    /// Requests out (warm-up ones too).
    private let inFlight = Atomic<Int>(0)
    private let inFlightLimit: Synchronization.Atomic<Int>
    /// How many measured requests the run waits for: N for a `requests` plan; once the window closed, those sent.
    private let expected: Synchronization.Atomic<Int>
    private let ending = NIOLockedValueBox<Ending?>(nil)
    private let outcome = NIOLockedValueBox<LoadResult?>(nil)
    private let done = Latch()
    /// Open loop: the first index sent more than ``behindThreshold`` after its due time (-1: none), the most any
    /// send was behind, and whether the in-flight limit held a send back.
    private let behindFrom = Atomic<Int>(-1)
    private let mostBehind = Atomic<Int64>(0)
    private let limitReached = Atomic<Bool>(false)
    private let baseline = NIOLockedValueBox<PoolStatistics?>(nil)

    static let closedBit = 1 << 62
    static let measuredTag: UInt64 = 1 << 63
    /// A send this late is the schedule not being met, not timer jitter.
    static let behindThreshold: Int64 = 100_000_000
    /// After an interrupt: how long answers in flight are waited for, then how long the pool takes to fail the rest.
    static let interruptGrace = TimeAmount.milliseconds(200)

    /// The run's clock, fixed when it starts.
    struct Window: Sendable {
        var start: NIODeadline
        /// The wall clock at `start`, for reports that several agents' runs are lined up by.
        var wallStart: Date
        var measureFrom: NIODeadline
        /// `distantFuture` for a `requests` plan.
        var stopAt: NIODeadline
    }

    /// How the measured window closed.
    struct Ending: Sendable {
        var at: NIODeadline
        var interrupted: Bool
        /// Measured requests sent, and (open loop) due and never sent.
        var sent: Int
        var dropped: Int
    }

    private init(
        pool: ConnectionPool, plan: LoadPlan, body: ByteBuffer, eventLoop: any EventLoop, inFlightLimit: Int,
        validate: (@Sendable (ByteBuffer) -> String?)?
    ) {
        self.pool = pool
        self.plan = plan
        self.body = body
        self.loop = eventLoop
        self.validate = validate
        let start = NIODeadline.now()
        let measureFrom = start + TimeAmount(plan.warmup)
        var stopAt = NIODeadline.distantFuture
        var lastSecond: Int?
        if case let .duration(d) = plan.stop {
            stopAt = measureFrom + TimeAmount(d)
            lastSecond = max(0, Int((Double(TimeAmount(d).nanoseconds) / 1e9).rounded(.up)) - 1)
        }
        window = Window(start: start, wallStart: Date(), measureFrom: measureFrom, stopAt: stopAt)
        var open = false
        if case .open = plan.mode { open = true }
        recorder = LoadRecorder(measureFrom: measureFrom, lastSecond: lastSecond, uncorrected: open)
        self.inFlightLimit = Synchronization.Atomic(max(1, inFlightLimit))
        switch plan.mode {
        case .closed:
            schedule = nil
            firstMeasured = 0
            indexLimit = .max
            if case let .requests(n) = plan.stop { expected = Synchronization.Atomic(n) } else { expected = Synchronization.Atomic(.max) }
        case let .open(rate, from):
            let span = stopAt == .distantFuture ? 0 : Double((stopAt - start).nanoseconds) / 1e9
            let schedule = OpenSchedule(origin: start, rate: rate, from: from, span: span)
            self.schedule = schedule
            firstMeasured = schedule.count(before: measureFrom)
            switch plan.stop {
            case let .requests(n):
                indexLimit = firstMeasured + n
                expected = Synchronization.Atomic(n)
            case .duration:
                indexLimit = schedule.count(before: stopAt)
                expected = Synchronization.Atomic(.max)
            }
        }
    }

    /// Starts a run at once. `inFlightLimit` bounds an open loop's requests out (give the pool's capacity:
    /// connections × in-flight per connection × instances); `validate` returns why an answer's body is not
    /// acceptable (it then counts as an `invalid` error), or nil.
    /// `inFlightPerInstance`, when given, raises the in-flight limit to that many per instance as instances join
    /// (checked once a second), so that an open loop keeps up with a growing fleet.
    public static func start(
        pool: ConnectionPool, plan: LoadPlan, body: ByteBuffer, eventLoop: any EventLoop, inFlightLimit: Int = 1_000,
        inFlightPerInstance: Int? = nil, validate: (@Sendable (ByteBuffer) -> String?)? = nil
    ) -> LoadEngine {
        let engine = LoadEngine(
            pool: pool, plan: plan, body: body, eventLoop: eventLoop, inFlightLimit: inFlightLimit, validate: validate)
        engine.begin()
        if let perInstance = inFlightPerInstance { engine.followFleet(perInstance: perInstance) }
        return engine
    }

    /// Once a second until the run is over: the in-flight limit follows the fleet's size.
    private func followFleet(perInstance: Int) {
        loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] task in
            guard !done.isFired else { return task.cancel() }
            raiseInFlightLimit(to: perInstance * max(1, pool.statistics().instances.count))
        }
    }

    private func begin() {
        if plan.warmup <= .zero {
            takeBaseline()
        } else {
            loop.scheduleTask(deadline: window.measureFrom) { [self] in takeBaseline() }
        }
        if window.stopAt != .distantFuture {
            loop.scheduleTask(deadline: window.stopAt) { [self] in close(at: window.stopAt, interrupted: false) }
        }
        switch plan.mode {
        case let .closed(concurrency):
            for chain in 0..<concurrency { sendClosed(chain: UInt64(chain), now: .now()) }
        case .open:
            // On the thread that carries the connections, where what it submits goes out without a hop.
            pool.run(every: { [self] in tick() })
        }
    }

    private func takeBaseline() {
        let stats = pool.statistics()
        baseline.withLockedValue { if $0 == nil { $0 = stats } }
    }

    // MARK: the caller's side

    /// Waits for the end of the run: the window closed (by its duration, its request count or ``interrupt()``) and
    /// every measured request finished. Returns early when the task is cancelled.
    public func waitUntilDone() async { await done.wait() }

    public var isDone: Bool { done.isFired }

    /// The run's numbers, once it is over (waits for that).
    public func result() async -> LoadResult {
        await done.wait()
        return outcome.withLockedValue { $0 }!
    }

    /// Ends the run now: nothing more is sent; answers in flight get a moment, then the pool is shut down and what
    /// it still holds counts as unfinished. The result is ready within about half a second.
    public func interrupt() {
        guard close(at: .now(), interrupted: true) else { return }
        giveUp(after: Self.interruptGrace)
    }

    /// Lets an open loop keep more requests out (when instances joined).
    public func raiseInFlightLimit(to limit: Int) {
        var current = inFlightLimit.load(ordering: .relaxed)
        while limit > current {
            let (exchanged, original) = inFlightLimit.compareExchange(expected: current, desired: limit, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// For a progress line.
    public struct Progress: Sendable {
        /// From the start of the measured window (negative while warming up).
        public var elapsed: Duration
        public var total: Duration?
        /// Measured requests finished so far, and errors among them.
        public var finished: Int
        public var errors: Int
        /// The last full second: requests finished in it and their p99 (nanoseconds; 0 when none succeeded).
        public var lastSecond: (requests: Int, p99: UInt64)?
    }

    public func progress() -> Progress {
        let elapsed = NIODeadline.now() - window.measureFrom
        let second = elapsed.nanoseconds >= 0 ? Int(elapsed.nanoseconds / 1_000_000_000) : 0
        let p = recorder.progress(second: second)
        var total: Duration?
        if case let .duration(d) = plan.stop { total = d }
        return Progress(elapsed: .nanoseconds(elapsed.nanoseconds), total: total, finished: p.finished, errors: p.errors, lastSecond: p.lastSecond)
    }

    // MARK: sending

    private var isClosed: Bool { claims.load(ordering: .relaxed) & Self.closedBit != 0 }

    private func submit(tag: UInt64) {
        pool.submit(body, timeout: plan.timeout, sink: self, tag: tag)
    }

    /// Closed loop: the next request of a chain, measured when sent inside the window.
    private func sendClosed(chain: UInt64, now: NIODeadline) {
        if now < window.measureFrom {
            guard !isClosed else { return }
            inFlight.add(1, ordering: .relaxed)
            submit(tag: chain)
        } else if claimMeasured(now: now) {
            inFlight.add(1, ordering: .relaxed)
            submit(tag: chain | Self.measuredTag)
        }
    }

    /// Takes one of a closed loop's measured sends, unless the window closed, ran out or the plan's count is sent.
    private func claimMeasured(now: NIODeadline) -> Bool {
        guard now < window.stopAt else { return false }
        let limit = expected.load(ordering: .relaxed)
        var value = claims.load(ordering: .relaxed)
        while value & Self.closedBit == 0, value < limit {
            let (exchanged, original) = claims.compareExchange(expected: value, desired: value + 1, ordering: .relaxed)
            if exchanged { return true }
            value = original
        }
        return false
    }

    /// Open loop: the next index, if it is due by `now` and inside the plan.
    private func claimIndex(dueBy now: NIODeadline) -> Int? {
        var value = claims.load(ordering: .relaxed)
        while value & Self.closedBit == 0, value < indexLimit, schedule!.due(value) <= now {
            let (exchanged, original) = claims.compareExchange(expected: value, desired: value + 1, ordering: .relaxed)
            if exchanged { return value }
            value = original
        }
        return nil
    }

    /// Open loop: sends everything due by `now`, as far as the in-flight limit allows; returns whether the limit
    /// held a due request back.
    @discardableResult
    private func pump(now: NIODeadline) -> Bool {
        let limit = inFlightLimit.load(ordering: .relaxed)
        while true {
            if inFlight.add(1, ordering: .relaxed).newValue > limit {
                inFlight.subtract(1, ordering: .relaxed)
                if let schedule, let next = nextIndex, schedule.due(next) <= now {
                    if !limitReached.load(ordering: .relaxed) { limitReached.store(true, ordering: .relaxed) }
                    return true
                }
                return false
            }
            guard let index = claimIndex(dueBy: now) else {
                inFlight.subtract(1, ordering: .relaxed)
                return false
            }
            let behind = (now - schedule!.due(index)).nanoseconds
            if behind > Self.behindThreshold { noteBehind(index: index, by: behind) }
            submit(tag: UInt64(index))
        }
    }

    /// The next index to send, `nil` when the plan is all sent or the window closed.
    private var nextIndex: Int? {
        let value = claims.load(ordering: .relaxed)
        return value & Self.closedBit == 0 && value < indexLimit ? value : nil
    }

    private func noteBehind(index: Int, by nanoseconds: Int64) {
        if behindFrom.load(ordering: .relaxed) < 0 {
            _ = behindFrom.compareExchange(expected: -1, desired: index, ordering: .relaxed)
        }
        var most = mostBehind.load(ordering: .relaxed)
        while nanoseconds > most {
            let (exchanged, original) = mostBehind.compareExchange(expected: most, desired: nanoseconds, ordering: .relaxed)
            if exchanged { break }
            most = original
        }
    }

    /// Open loop: sends what is due; returns when to come back: when the next request is due (at least 50 µs on, so a
    /// high rate costs one timer per batch), or in 1 ms while the in-flight limit holds sends back (completions send
    /// them meanwhile); `nil` once the plan is all sent or the window closed.
    private func tick() -> NIODeadline? {
        guard !isClosed, let schedule else { return nil }
        let now = NIODeadline.now()
        let blocked = pump(now: now)
        guard let next = nextIndex else { return nil }
        return blocked ? now + .milliseconds(1) : max(schedule.due(next), now + .microseconds(50))
    }

    // MARK: results

    public func received(_ result: Result<PoolResponse, PoolError>, tag: UInt64) {
        let now: NIODeadline
        if case let .success(response) = result { now = response.answeredAt } else { now = .now() }
        inFlight.subtract(1, ordering: .relaxed)
        switch plan.mode {
        case .closed:
            if tag & Self.measuredTag != 0 { finished(record(result, intended: nil, now: now), now: now) }
            let chain = tag & ~Self.measuredTag
            if case let .failure(error) = result, error.errorClass == .unavailable || error.errorClass == .connect {
                // Nothing to send to (all ejected, none connected): try again shortly rather than spin on failures.
                loop.scheduleTask(in: .milliseconds(10)) { [self] in sendClosed(chain: chain, now: .now()) }
            } else {
                sendClosed(chain: chain, now: now)
            }
        case .open:
            let index = Int(tag)
            if index >= firstMeasured { finished(record(result, intended: schedule!.due(index), now: now), now: now) }
            pump(now: now)
        }
    }

    /// Records a measured request's result; returns how many have finished (`nil` once sealed).
    private func record(_ result: Result<PoolResponse, PoolError>, intended: NIODeadline?, now: NIODeadline) -> Int? {
        switch result {
        case let .success(response):
            if let validate, let problem = validate(response.body) {
                return recorder.failure(class: "invalid", instance: response.instance, message: "\(response.instance): \(problem)", at: now)
            }
            let uncorrected = response.latencyNanoseconds
            let corrected = intended.map { (now - $0).nanoseconds } ?? uncorrected
            return recorder.success(response, latency: max(corrected, uncorrected), at: now)
        case let .failure(error):
            if error.errorClass == .shutdown || error.errorClass == .cancelled {
                return recorder.unfinished(instance: error.instance, at: now)
            }
            return recorder.failure(class: error.errorClass.rawValue, instance: error.instance, message: error.description, at: now)
        }
    }

    private func finished(_ count: Int?, now: NIODeadline) {
        guard let count, count >= expected.load(ordering: .sequentiallyConsistent) else { return }
        // A `requests` plan is complete with its last answer; otherwise the window has already closed.
        if !close(at: now, interrupted: false) { sealIfComplete() }
    }

    /// Closes the measured window at `at`: no more measured sends. Returns false when it was already closed.
    @discardableResult
    private func close(at: NIODeadline, interrupted: Bool) -> Bool {
        let first = ending.withLockedValue { e -> Bool in
            guard e == nil else { return false }
            e = Ending(at: at, interrupted: interrupted, sent: 0, dropped: 0)
            return true
        }
        guard first else { return false }
        if !interrupted, schedule != nil { pump(now: .now()) }  // what is due before the close still goes out
        let final = claims.bitwiseOr(Self.closedBit, ordering: .sequentiallyConsistent).oldValue & ~Self.closedBit
        var sent = final
        var dropped = 0
        if let schedule {
            sent = max(0, min(final, indexLimit) - firstMeasured)
            let due = min(schedule.count(before: at), indexLimit)
            dropped = max(0, due - max(final, firstMeasured))
        }
        ending.withLockedValue {
            $0!.sent = sent
            $0!.dropped = dropped
        }
        expected.store(sent, ordering: .sequentiallyConsistent)
        if !interrupted, window.stopAt != .distantFuture {
            // The pool's timeout bounds every answer still awaited; this only guards against a pool that loses one.
            giveUp(after: TimeAmount(plan.timeout) + .seconds(1))
        }
        sealIfComplete()
        return true
    }

    /// If the run is not over after `grace`: shut the pool down (what it holds fails as unfinished), and seal a
    /// moment later whatever happens.
    private func giveUp(after grace: TimeAmount) {
        loop.scheduleTask(in: grace) { [self] in
            guard !done.isFired else { return }
            let pool = self.pool
            Task { await pool.shutdown(deadline: .zero) }
            loop.scheduleTask(in: Self.interruptGrace) { [self] in seal() }
        }
    }

    private func sealIfComplete() {
        if recorder.finished >= expected.load(ordering: .sequentiallyConsistent) { seal() }
    }

    /// Ends recording and builds the result (once), then wakes the waiters.
    private func seal() {
        // On the engine's own event loop: the result (histograms, the timeline's buckets) is not built on the thread
        // that carried the last answer, whose other connections would wait meanwhile.
        guard loop.inEventLoop else { return loop.execute { [self] in seal() } }
        guard let ending = ending.withLockedValue({ $0 }), !done.isFired else { return }
        let stats = pool.statistics()
        let events = pool.events()
        let sealed = outcome.withLockedValue { o -> Bool in
            guard o == nil else { return false }
            o = build(ending, stats: stats, events: events)
            return true
        }
        if sealed { done.fire() }
    }

    private func build(_ ending: Ending, stats: PoolStatistics, events poolEvents: [PoolEvent]) -> LoadResult {
        let measureFrom = window.measureFrom
        let seconds = max(0, Double((ending.at - measureFrom).nanoseconds) / 1e9)
        let lastSecond = Int(seconds.rounded(.up)) - 1
        let s = recorder.seal(sent: ending.sent, throughSecond: lastSecond)
        let start = baseline.withLockedValue { $0 } ?? stats
        func offset(_ t: NIODeadline) -> Double { (Double((t - measureFrom).nanoseconds) / 1e6).rounded() / 1000 }

        var weights: [String: Int] = [:]
        for i in start.instances { weights[i.instance.address] = i.instance.weight }
        var events: [LoadResult.Event] = []
        for e in poolEvents {
            events.append(LoadResult.Event(at: offset(e.at), kind: e.kindName, instance: e.instance, message: e.description))
            guard let address = e.instance else { continue }
            switch e.kind {
            case let .joined(weight): weights[address] = weight
            case let .reweighted(_, to): weights[address] = to
            default: break
            }
        }
        for i in stats.instances where !i.removed { weights[i.instance.address] = i.instance.weight }
        if let rate = rateEvent(ending, offset: offset) { events.append(rate) }
        if ending.interrupted {
            events.append(LoadResult.Event(at: offset(ending.at), kind: "interrupted", instance: nil,
                                           message: "interrupted: the report covers the run until then"))
        }
        events.sort { $0.at < $1.at }

        var unusual: [String: (late: Int, duplicate: Int, unknown: Int)] = [:]
        let before = Dictionary(start.instances.map { ($0.instance.address, $0.counters) }, uniquingKeysWith: { a, _ in a })
        for i in stats.instances {
            let b = before[i.instance.address] ?? RequestCounters()
            unusual[i.instance.address] = (i.counters.late - b.late, i.counters.duplicate - b.duplicate, i.counters.unknown - b.unknown)
        }
        var addresses = Set(weights.keys).union(s.instances.map(\.address))
        addresses.formUnion(unusual.keys)
        let totals = Dictionary(s.instances.map { ($0.address, $0) }, uniquingKeysWith: { a, _ in a })
        let instances = addresses.map { address in
            let t = totals[address] ?? LoadRecorder.InstanceTotals(address: address)
            let u = unusual[address] ?? (0, 0, 0)
            return LoadResult.InstanceResult(
                address: address, weight: weights[address] ?? 0, ok: t.ok, errors: t.errors, unfinished: t.unfinished,
                late: max(0, u.late), duplicate: max(0, u.duplicate), unknown: max(0, u.unknown), histogram: t.histogram)
        }.sorted { ($0.weight, $1.address) > ($1.weight, $0.address) }

        let droppedBySecond = droppedPerSecond(ending, seconds: lastSecond + 1)
        let timeline = s.timeline.seconds.enumerated().map { n, second in
            LoadResult.Second(
                second: n, ok: second.counts.ok, errors: second.counts.errors, unfinished: second.counts.unfinished,
                dropped: n < droppedBySecond.count ? droppedBySecond[n] : 0, p50: second.p50, p99: second.p99,
                histogram: second.buckets,
                instances: second.instances.enumerated().compactMap { slot, entry in
                    entry.map {
                        LoadResult.InstanceSecond(
                            address: s.instances[slot].address, ok: $0.counts.ok, errors: $0.counts.errors,
                            unfinished: $0.counts.unfinished, p50: $0.p50, p99: $0.p99)
                    }
                })
        }
        var limit: Int?
        if schedule != nil { limit = inFlightLimit.load(ordering: .relaxed) }
        func wall(_ t: NIODeadline) -> Date { window.wallStart.addingTimeInterval(Double((t - window.start).nanoseconds) / 1e9) }
        return LoadResult(
            startedAt: wall(measureFrom), endedAt: wall(max(ending.at, measureFrom)),
            seconds: seconds, sent: ending.sent, ok: s.ok, errors: s.errors, firstError: s.firstError,
            unfinished: s.unfinished, dropped: ending.dropped, unplaced: s.unplaced,
            corrected: s.corrected, uncorrected: s.uncorrected, instances: instances, timeline: Array(timeline),
            events: events, inFlightLimit: limit, interrupted: ending.interrupted,
            connections: LoadResult.Connections(
                wanted: pool.configuration.maxConnectionsPerInstance * stats.instances.filter { !$0.removed }.count,
                open: stats.openConnections, opened: stats.connects.opened, failed: stats.connects.failed,
                clientLimited: stats.connects.clientLimited, firstClientLimit: stats.connects.firstClientLimit))
    }

    /// Open loop: the event saying the schedule was not kept, from when and how far behind.
    private func rateEvent(_ ending: Ending, offset: (NIODeadline) -> Double) -> LoadResult.Event? {
        guard let schedule else { return nil }
        let from = behindFrom.load(ordering: .relaxed)
        guard from >= 0 || ending.dropped > 0 else { return nil }
        let at = from >= 0 ? schedule.due(from) : ending.at
        var message = "rate not met"
        if from >= 0 {
            message += " from \(Self.seconds(offset(at))): sends fell up to \(formatDuration(.nanoseconds(mostBehind.load(ordering: .relaxed)))) behind the schedule"
        }
        if ending.dropped > 0 { message += (from >= 0 ? "; " : ": ") + "\(ending.dropped) due request\(ending.dropped == 1 ? "" : "s") never sent" }
        if limitReached.load(ordering: .relaxed) {
            message += " (the in-flight limit of \(inFlightLimit.load(ordering: .relaxed)) was reached: the fleet answers slower than the rate asks)"
        } else {
            message += " (this client could not send faster)"
        }
        return LoadResult.Event(at: offset(at), kind: "rate_not_met", instance: nil, message: message)
    }

    /// Open loop: how many of the dropped requests were due in each second of the window.
    private func droppedPerSecond(_ ending: Ending, seconds: Int) -> [Int] {
        guard let schedule, ending.dropped > 0, seconds > 0 else { return [] }
        let firstDropped = firstMeasured + ending.sent
        let end = firstDropped + ending.dropped
        return (0..<seconds).map { n in
            let from = schedule.count(before: window.measureFrom + .seconds(Int64(n)))
            let to = schedule.count(before: window.measureFrom + .seconds(Int64(n + 1)))
            return max(0, min(to, end) - max(from, firstDropped))
        }
    }

    /// `1.234s`, `-0.050s`: an event time, to the millisecond.
    static func seconds(_ value: Double) -> String {
        let ms = Int((value * 1000).rounded())
        let whole = abs(ms) / 1000, frac = abs(ms) % 1000
        let digits = String(frac)
        return (ms < 0 ? "-" : "") + "\(whole)." + String(repeating: "0", count: 3 - digits.count) + digits + "s"
    }
}
