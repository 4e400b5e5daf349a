import MindAlphaPool

/// What a watch reports.
public enum WatchEvent: Sendable, Hashable {
    /// The first answer: the whole set.
    case initial(instances: [Instance], index: UInt64)
    /// The set changed; `instances` is the whole new set.
    case changed(InstanceSetChange, instances: [Instance], index: UInt64)
    /// A query failed; the last good set still stands, and the next try is after `retryIn`.
    case failed(ConsulError, retryIn: Duration)
    /// Consul answers again after failures.
    case recovered
}

extension ConsulClient {
    /// Follows a service with blocking queries, following Consul's rules: the index is never below 1, it is reset
    /// to 0 when it goes backwards, an unchanged index is no change. Errors are retried with capped exponential
    /// backoff and jitter (250 ms doubling to 30 s), without blocking (index 0), so that an answer again is seen at
    /// once; the last good set is kept meanwhile.
    ///
    /// `after`, an answer the caller already has, is where the watch starts: it blocks from that answer's index and
    /// reports only what changed since (no `.initial`, and no second query for what is already known).
    ///
    /// The stream ends when the consuming task is cancelled.
    public func watch(_ query: HealthQuery, wait: Duration = .seconds(300), after first: HealthResult? = nil) -> AsyncStream<WatchEvent> {
        AsyncStream { continuation in
            let task = Task {
                var index: UInt64 = first.map { max($0.index, 1) } ?? 0
                var current: [Instance]? = first?.instances
                var failures = 0
                while !Task.isCancelled {
                    var q = query
                    q.index = index
                    q.wait = wait
                    let started = ContinuousClock.now
                    do throws(ConsulError) {
                        let result = try await health(q)
                        if failures > 0 {
                            failures = 0
                            continuation.yield(.recovered)
                        }
                        let answered = max(result.index, 1)
                        if let previous = current {
                            let change = InstanceSetChange(from: previous, to: result.instances)
                            if !change.isEmpty {
                                current = result.instances
                                continuation.yield(.changed(change, instances: result.instances, index: answered))
                            }
                        } else {
                            current = result.instances
                            continuation.yield(.initial(instances: result.instances, index: answered))
                        }
                        let unchanged = answered == index
                        index = answered < index ? 0 : answered
                        // A server that answers a blocking query at once with the same index would spin us.
                        if unchanged, ContinuousClock.now - started < .milliseconds(10) {
                            try? await Task.sleep(for: .milliseconds(50))
                        }
                    } catch {
                        if Task.isCancelled { break }
                        failures += 1
                        // The next try asks without blocking: an agent that restarted may hold the very index we
                        // had (a blocking query on it would wait minutes before saying it answers again).
                        index = 0
                        let backoff = Self.backoff(failures: failures)
                        continuation.yield(.failed(error, retryIn: backoff))
                        try? await Task.sleep(for: backoff)
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// 250 ms × 2^(n−1), capped at 30 s, with ±20 % jitter.
    static func backoff(failures: Int) -> Duration {
        let base = min(30_000.0, 250.0 * pow2(failures - 1))
        return .milliseconds(Int64(base * Double.random(in: 0.8...1.2)))
    }

    private static func pow2(_ n: Int) -> Double { n >= 30 ? Double(1 << 30) : Double(1 << max(0, n)) }
}
