import NIOCore

/// Outcomes that judge an instance: outlier detection, ejection and return, the counters behind them.
extension PoolStateMachine {
    /// Counts the result of a request written on a checked-out connection (its slot is the checkout's); the action
    /// holds the ejection when that outcome ejected the instance.
    mutating func countLeased(key: InstanceKey, error: PoolError.Class?, now: NIODeadline) -> Action {
        var action = Action()
        guard has(key) else { return action }
        modify(key) { s in
            if let error { s.counters[error] += 1 } else { s.counters.ok += 1 }
        }
        judge(key, error: error, now: now, into: &action)
        return action
    }

    /// Whether a failure of this class says something about the instance (and counts toward its ejection).
    static func countsAgainstInstance(_ error: PoolError.Class) -> Bool {
        switch error {
        case .connect, .closed, .protocol, .timeout: true
        case .unavailable, .cancelled, .shutdown, .client: false
        }
    }

    /// Feeds an outcome to the instance's outlier detection; an ejection it causes goes into `action`.
    mutating func judge(
        _ key: InstanceKey, error: PoolError.Class?, now: NIODeadline, unmatched: Bool = false, into action: inout Action
    ) {
        let (policy, draining) = (limits.ejection, self.draining)
        let verdict = modify(key) { s -> InstanceHealth.Verdict in
            Self.verdict(&s, error: error, policy: policy, draining: draining)
        }
        settle(key, verdict, error: error, now: now, unmatched: unmatched, into: &action)
    }

    /// One outcome, as the instance's health takes it.
    static func verdict(
        _ s: inout InstanceState, error: PoolError.Class?, policy: EjectionPolicy, draining: Bool
    ) -> InstanceHealth.Verdict {
        guard !s.removed, !draining else { return .none }
        guard let error else { return s.health.success() }
        return countsAgainstInstance(error) ? s.health.failure(policy) : .none
    }

    /// Acts on a verdict: the return event, or the ejection (into `action`).
    mutating func settle(
        _ key: InstanceKey, _ verdict: InstanceHealth.Verdict, error: PoolError.Class?, now: NIODeadline,
        unmatched: Bool = false, into action: inout Action
    ) {
        switch verdict {
        case .none: return
        case .returned:
            events.append(PoolEvent(at: now, instance: modify(key) { $0.instance.address }, kind: .returned))
        case .eject:
            eject(key, now: now, error: unmatched ? nil : error, into: &action)
        }
    }

    /// What failed, in words, for an ejection event.
    static func failing(_ error: PoolError.Class?) -> String {
        switch error {
        case .connect?: "connects failed"
        case .closed?: "connections closed"
        case .protocol?: "protocol violations"
        case .timeout?: "requests timed out"
        default: "answers matched no request in flight"
        }
    }

    /// Ejects an instance unless that would put more of the fleet out than the policy allows: its connections close
    /// (what is in flight on them fails), its waiters are picked again (they go to other instances).
    mutating func eject(_ key: InstanceKey, now: NIODeadline, error: PoolError.Class?, into action: inout Action) {
        let policy = limits.ejection
        let live = states.all.filter { !$0.1.removed }
        let out = live.filter { $0.1.health.isEjected }.count
        guard out + 1 <= policy.maxEjected(of: live.count) else {
            let say = modify(key) { s -> String? in
                defer { s.health.heldBack = true }
                return s.health.heldBack ? nil : s.instance.address
            }
            if let address = say {
                events.append(PoolEvent(at: now, instance: address, kind: .notEjected(ejected: out, of: live.count)))
            }
            return
        }
        let what = lastCause.removeValue(forKey: key).map { "\(Self.failing(error)): \($0)" } ?? Self.failing(error)
        let (instance, reason, duration) = modify(key) { s -> (Instance, String, Duration) in
            let reason: String
            if s.health.state == .probing {
                reason = "its probe failed (\(what))"
            } else if s.health.consecutive >= policy.consecutiveFailures, policy.consecutiveFailures > 0 {
                reason = "\(s.health.consecutive) failures in a row (\(what))"
            } else {
                reason = "\(s.health.failuresInWindow) of its last \(InstanceHealth.window) outcomes failed (\(what))"
            }
            let duration = s.health.eject(now: now, policy)
            let closing = PoolError.connectionClosed(instance: s.instance.address, reason: "the instance was ejected")
            action.close += s.slots.map { ($0.connection, closing) }
            s.slots.removeAll()
            s.freed = -1
            while let q = s.queue.popFirst() { action.repick.append(q) }
            if case .none = action.timer { action.timer = s.timerIfEmptied(key) } else { s.queueTimer = nil }
            return (s.instance, reason, duration)
        }
        action.ejected = instance.address
        events.append(PoolEvent(at: now, instance: instance.address, kind: .ejected(reason: reason, duration: duration)))
        reschedule(now: now)
    }

    mutating func noteLate(key: InstanceKey) {
        if has(key) { modify(key) { $0.counters.late += 1 } }
    }

    /// An answer to a request already answered: counted, and a failure for outlier detection.
    mutating func noteDuplicate(key: InstanceKey, now: NIODeadline) -> Action {
        noteUnmatched(key: key, now: now) { $0.duplicate += 1 }
    }

    /// An answer with an ID never in flight on its connection: counted, and a failure for outlier detection.
    mutating func noteUnknown(key: InstanceKey, now: NIODeadline) -> Action {
        noteUnmatched(key: key, now: now) { $0.unknown += 1 }
    }

    /// An answer that matches no request: `count` it, and judge it as a protocol failure.
    private mutating func noteUnmatched(key: InstanceKey, now: NIODeadline, count: (inout RequestCounters) -> Void) -> Action {
        var action = Action()
        guard has(key) else { return action }
        modify(key) { count(&$0.counters) }
        judge(key, error: .protocol, now: now, unmatched: true, into: &action)
        return action
    }
}
