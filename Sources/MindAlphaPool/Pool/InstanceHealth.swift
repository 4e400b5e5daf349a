import NIOCore

/// One instance's health as the pool's outlier detection sees it. Pure: time comes in as `now`.
///
/// A *failure* is what says something about the instance: a request failing as `connect`, `closed`, `protocol` or
/// `timeout`, a connection lost with an error, an answer that matches no request in flight (a duplicate, an unknown
/// ID). Client-side limits, waits for a connection and cancellations are not. Either of two detectors ejects: a run
/// of ``EjectionPolicy/consecutiveFailures`` in a row, or a failure share of at least
/// ``EjectionPolicy/failureRate`` among the last 64 outcomes (once 20 are known) — so a silent instance (every
/// request times out) and a flaky one (it closes every few answers, it answers twice) are both caught. An ejected
/// instance is out of the schedule for its back-off; then it is *probed*: one request at a time, a success brings
/// it back, a failure ejects it again for twice as long (up to ``EjectionPolicy/maxBackoff``).
struct InstanceHealth: Sendable, Hashable {
    enum State: Sendable, Hashable {
        case healthy
        case ejected(until: NIODeadline)
        case probing
    }

    /// What an outcome decided.
    enum Verdict: Sendable, Hashable {
        case none
        /// A detector tripped (or a probe failed): eject, if the fleet allows it.
        case eject
        /// A probe succeeded: the instance is back.
        case returned
    }

    static let window = 64
    static let minimumSamples = 20

    private(set) var state = State.healthy
    private(set) var consecutive = 0
    /// Bit `i` set: the `i`th most recent outcome was a failure.
    private var outcomes: UInt64 = 0
    private var samples = 0
    /// Ejections since the instance last served a whole window of successes in a row.
    private(set) var ejections = 0
    private var streak = 0
    /// Connections lost or not made, in a row: the reconnect back-off's exponent.
    private(set) var connectionFailures = 0
    /// No connect to the instance before then (the reconnect back-off).
    private(set) var nextDialAt: NIODeadline?
    /// Whether an ejection was held back by ``EjectionPolicy/maxEjectedShare`` (said once, until the instance has
    /// answered a whole window in a row or has been ejected).
    var heldBack = false

    var isEjected: Bool {
        if case .ejected = state { return true }
        return false
    }

    var ejectedUntil: NIODeadline? {
        if case let .ejected(until) = state { return until }
        return nil
    }

    var failuresInWindow: Int { (outcomes & Self.mask(samples)).nonzeroBitCount }

    mutating func success() -> Verdict {
        consecutive = 0
        note(failed: false)
        streak += 1
        if streak >= Self.window {
            ejections = 0
            heldBack = false
        }
        connectionFailures = 0
        nextDialAt = nil
        if state == .probing {
            state = .healthy
            return .returned
        }
        return .none
    }

    mutating func failure(_ policy: EjectionPolicy) -> Verdict {
        if isEjected { return .none }
        streak = 0
        if state == .probing { return .eject }
        consecutive += 1
        note(failed: true)
        if policy.consecutiveFailures > 0, consecutive >= policy.consecutiveFailures { return .eject }
        if policy.failureRate > 0, samples >= Self.minimumSamples,
           Double(failuresInWindow) >= policy.failureRate * Double(samples) {
            return .eject
        }
        return .none
    }

    /// Takes the instance out of the schedule; returns for how long.
    mutating func eject(now: NIODeadline, _ policy: EjectionPolicy) -> Duration {
        ejections += 1
        let backoff = policy.backoff(ejection: ejections)
        state = .ejected(until: now + TimeAmount(backoff))
        consecutive = 0
        outcomes = 0
        samples = 0
        heldBack = false
        return backoff
    }

    /// An ejection that ran out: the instance is probed. Returns whether it did.
    mutating func lift(now: NIODeadline) -> Bool {
        guard case let .ejected(until) = state, until <= now else { return false }
        state = .probing
        return true
    }

    /// Back to health at once (the instance left discovery, or came back as a new registration).
    mutating func reset() {
        self = InstanceHealth()
    }

    /// A connection lost or not made: the next connect waits `reconnectBase × 2^(n−1)` (capped at
    /// `reconnectMax`), with ±20 % jitter drawn from `seed` so that instances do not reconnect in step.
    mutating func connectionFailed(now: NIODeadline, _ policy: EjectionPolicy, seed: UInt64) {
        connectionFailures += 1
        guard policy.reconnectBase > .zero else { return }
        var delay = policy.reconnectBase
        for _ in 1..<min(connectionFailures, 32) where delay < policy.reconnectMax { delay *= 2 }
        delay = min(delay, policy.reconnectMax)
        var generator = SplitMix64(seed: seed &+ UInt64(connectionFailures))
        let jitter = 0.8 + 0.4 * Double(generator.next() >> 11) / Double(1 << 53)
        nextDialAt = now + .nanoseconds(Int64(Double(TimeAmount(delay).nanoseconds) * jitter))
    }

    private mutating func note(failed: Bool) {
        outcomes = (outcomes << 1) | (failed ? 1 : 0)
        samples = min(samples + 1, Self.window)
    }

    private static func mask(_ n: Int) -> UInt64 { n >= 64 ? .max : (1 << UInt64(n)) - 1 }
}
