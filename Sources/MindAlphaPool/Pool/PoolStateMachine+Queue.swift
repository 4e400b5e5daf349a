import NIOCore

/// Finished requests and the instance queues: a freed slot goes to the first waiter; deadlines expire waiters.
extension PoolStateMachine {
    /// A request finished (answered, failed or timed out), or a checkout was returned (`lease`). The freed slot
    /// goes to the instance's first waiter if it can take it.
    /// `now` is read only when the outcome changes the instance's standing (an ejection, a return).
    mutating func finished(
        _ id: ConnectionID, key: InstanceKey, error: PoolError.Class?, lease: Bool = false, now: NIODeadline? = nil
    ) -> Handoff {
        guard has(key) else { return .none }
        if !lease {
            let (policy, draining) = (limits.ejection, self.draining)
            let verdict = modify(key) { s -> InstanceHealth.Verdict in
                if let error { s.counters[error] += 1 } else { s.counters.ok += 1 }
                return Self.verdict(&s, error: error, policy: policy, draining: draining)
            }
            if verdict != .none, let ejection = settle(key, verdict, error: error, now: now ?? .now()) {
                // Its slot went with the connections; the waiters go elsewhere.
                return .eject(ejection)
            }
        }
        let limits = self.limits
        let draining = self.draining
        let (handoff, gone) = modify(key) { s -> (Handoff, Bool) in
            guard let j = s.slots.firstIndex(where: { $0.id == id }) else { return (.none, false) }
            if lease { s.slots[j].leased = false } else { s.slots[j].inFlight -= 1 }
            if s.slots[j].idle { s.freed = j }
            if draining || s.removed {
                guard s.slots[j].idle else { return (.none, false) }
                let slot = s.slots.remove(at: j)
                return (.close(slot.connection), s.removed && s.slots.isEmpty && s.connecting == 0)
            }
            guard let head = s.queue.first, s.canServe(s.slots[j], lease: head.lease, maxInFlight: limits.maxInFlight)
            else { return (.none, false) }
            s.queue.removeFirst()
            if head.lease { s.slots[j].leased = true } else { s.slots[j].inFlight += 1; s.counters.sent += 1 }
            return (.serve(s.slots[j].connection, s.slots[j].id, key, head), false)
        }
        if gone { forget(key) }
        return handoff
    }

    /// Takes a waiter out of its queue (its deadline passed, or it was cancelled), counting it as failed; `nil` when
    /// it already left. Returns the instance's address with it.
    mutating func cancel(id: UInt64, key: InstanceKey, countingAs errorClass: PoolError.Class) -> (Queued, String)? {
        guard has(key) else { return nil }
        return modify(key) { s in
            guard let i = s.queue.firstIndex(where: { $0.id == id }) else { return nil }
            let queued = s.queue.remove(at: i)
            if !queued.lease { s.counters[errorClass] += 1 }
            return (queued, s.instance.address)
        }
    }

    /// A queue's deadline timer armed for `timer` fired: fails the waiters whose deadline passed and says when to
    /// fire next. A timer that is no longer the queue's (an earlier one was armed since) re-arms nothing.
    mutating func expireQueue(_ key: InstanceKey, timer: NIODeadline, now: NIODeadline) -> Expired {
        guard has(key) else { return Expired() }
        return modify(key) { s in
            var result = Expired(address: s.instance.address)
            let current = s.queueTimer == nil || s.queueTimer == timer
            var earliest = NIODeadline.distantFuture
            var kept = CircularBuffer<Queued>(initialCapacity: s.queue.count)
            var any = false
            for q in s.queue {
                if q.deadline <= now {
                    any = true
                    result.waiters.append(q)
                    if !q.lease { s.counters[.unavailable] += 1 }
                } else {
                    earliest = min(earliest, q.deadline)
                    kept.append(q)
                }
            }
            if any { s.queue = kept }
            guard current else { return result }
            s.queueTimer = earliest == .distantFuture ? nil : earliest
            result.rearm = s.queueTimer
            return result
        }
    }
}
