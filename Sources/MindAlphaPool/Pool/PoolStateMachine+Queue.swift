import NIOCore

/// Finished requests and the instance queues: a freed slot goes to the first waiter; deadlines expire waiters.
extension PoolStateMachine {
    /// A request finished (answered, failed or timed out), or a checkout was returned (`lease`). The freed slot
    /// goes to the instance's first waiter if it can take it; while the pool drains, an idle connection closes.
    /// `now` is read only when the outcome changes the instance's standing (an ejection, a return).
    mutating func finished(
        _ id: ConnectionID, key: InstanceKey, error: PoolError.Class?, lease: Bool = false, now: NIODeadline? = nil
    ) -> Action {
        var action = Action()
        guard has(key) else { return action }
        if !lease {
            let (policy, draining) = (limits.ejection, self.draining)
            let verdict = modify(key) { s -> InstanceHealth.Verdict in
                if let error { s.counters[error] += 1 } else { s.counters.ok += 1 }
                return Self.verdict(&s, error: error, policy: policy, draining: draining)
            }
            if verdict != .none {
                settle(key, verdict, error: error, now: now ?? .now(), into: &action)
                // Its slot went with the connections; the waiters go elsewhere.
                if action.ejected != nil { return action }
            }
        }
        let limits = self.limits
        let draining = self.draining
        let gone = modify(key) { s -> Bool in
            guard let j = s.slots.firstIndex(where: { $0.id == id }) else { return false }
            if lease { s.slots[j].leased = false } else { s.slots[j].inFlight -= 1 }
            if s.slots[j].idle { s.freed = j }
            if draining || s.removed {
                guard s.slots[j].idle else { return false }
                let slot = s.slots.remove(at: j)
                action.close = [(slot.connection, .shuttingDown)]
                return s.removed && s.slots.isEmpty && s.connecting == 0
            }
            guard let head = s.queue.first, s.canServe(s.slots[j], lease: head.lease, maxInFlight: limits.maxInFlight)
            else { return false }
            s.queue.removeFirst()
            s.take(j, lease: head.lease)
            action.serve = .one(s.slots[j].connection, s.slots[j].id, head)
            action.timer = s.timerIfEmptied(key)
            return false
        }
        if gone { forget(key) }
        noteShutdown(&action)
        return action
    }

    /// Takes a waiter out of its queue, its caller having cancelled it: it fails as cancelled (nothing to do when it
    /// already left).
    mutating func cancel(id: UInt64, key: InstanceKey) -> Action {
        var action = Action()
        guard has(key) else { return action }
        modify(key) { s in
            guard let i = s.queue.firstIndex(where: { $0.id == id }) else { return }
            let queued = s.queue.remove(at: i)
            if !queued.lease { s.counters[.cancelled] += 1 }
            action.fail = [(queued, .cancelled)]
            action.timer = s.timerIfEmptied(key)
        }
        return action
    }

    /// A queue's deadline timer armed for `timer` fired: fails the waiters whose deadline passed (counted as
    /// `unavailable`) and arms the timer for the next deadline. A timer that is no longer the queue's (an earlier one
    /// was armed since) re-arms nothing.
    mutating func expireQueue(_ key: InstanceKey, timer: NIODeadline, now: NIODeadline) -> Action {
        var action = Action()
        guard has(key) else { return action }
        modify(key) { s in
            let current = s.queueTimer == nil || s.queueTimer == timer
            var earliest = NIODeadline.distantFuture
            var kept = CircularBuffer<Queued>(initialCapacity: s.queue.count)
            for q in s.queue {
                if q.deadline <= now {
                    action.fail.append((q, .noConnection(instance: s.instance.address, after: q.timeout)))
                    if !q.lease { s.counters[.unavailable] += 1 }
                } else {
                    earliest = min(earliest, q.deadline)
                    kept.append(q)
                }
            }
            if !action.fail.isEmpty { s.queue = kept }
            guard current else { return }
            s.queueTimer = earliest == .distantFuture ? nil : earliest
            if let next = s.queueTimer { action.timer = .armQueue(key, at: next, replacing: nil) }  // this one fired
        }
        return action
    }
}
