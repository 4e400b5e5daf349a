import NIOCore

/// Connections made, failed and lost, and the shutdown that closes them.
extension PoolStateMachine {
    /// A connect finished: the new connection serves the instance's waiters, or is closed when unwanted.
    mutating func connected(_ id: ConnectionID, key: InstanceKey, connection: Connection) -> Connected {
        guard has(key) else { return Connected(close: true) }
        let limits = self.limits
        let draining = self.draining
        return modify(key) { s in
            s.connecting -= 1
            s.connects.opened += 1
            s.lastConnectError = nil
            if draining || s.removed { return Connected(close: true) }
            s.slots.append(Slot(id: id, connection: connection))
            let j = s.slots.count - 1
            var result = Connected()
            while let head = s.queue.first, s.canServe(s.slots[j], lease: head.lease, maxInFlight: limits.maxInFlight) {
                s.queue.removeFirst()
                if head.lease { s.slots[j].leased = true } else { s.slots[j].inFlight += 1; s.counters.sent += 1 }
                result.serve.append(head)
            }
            return result
        }
    }

    /// A connect failed.
    mutating func connectFailed(key: InstanceKey, error: PoolError, now: NIODeadline) -> Lost {
        guard has(key) else { return Lost() }
        modify(key) { s in
            s.connecting -= 1
            s.connects.failed += 1
            if error.errorClass == .connect || error.errorClass == .client { s.lastConnectError = error }
            if case let .clientLimit(_, reason) = error {
                s.connects.clientLimited += 1
                if s.connects.firstClientLimit == nil { s.connects.firstClientLimit = reason }
            }
        }
        return lost(key: key, error: error, now: now)
    }

    /// A connection closed; `error` when it failed rather than being closed by the pool.
    mutating func closed(_ id: ConnectionID, key: InstanceKey, error: PoolError?, now: NIODeadline) -> Lost {
        guard has(key) else { return Lost() }
        modify(key) { s in s.slots.removeAll { $0.id == id } }
        return lost(key: key, error: error, now: now)
    }

    mutating func lost(key: InstanceKey, error: PoolError?, now: NIODeadline) -> Lost {
        let policy = limits.ejection
        let draining = self.draining
        var result = Lost()
        if let error {
            modify(key) { $0.health.connectionFailed(now: now, policy, seed: UInt64(key.raw)) }
            lastCause[key] = error.cause
            result.ejection = judge(key, error: error.errorClass, now: now)
        }
        let gone = modify(key) { s -> Bool in
            if !s.queue.isEmpty, s.slots.isEmpty, s.connecting == 0 {
                let refused = error.map { $0.errorClass == .connect || $0.errorClass == .client } ?? false
                if !s.health.isEjected, !draining, !s.removed, !refused {
                    // Demand is waiting and nothing is open or opening: replace the connection (after the back-off).
                    s.connecting += 1
                    result.dial = Dial(key: key, instance: s.instance, count: 1, at: s.dialTime(now: now))
                } else {
                    let failure = error ?? .connectionClosed(instance: s.instance.address, reason: "closed")
                    while let q = s.queue.popFirst() {
                        result.fail.append(q)
                        if !q.lease { s.counters[failure.errorClass] += 1 }
                    }
                }
            }
            return s.removed && s.slots.isEmpty && s.connecting == 0
        }
        _ = policy
        if gone { forget(key) }
        return result
    }

    /// Stops new requests: returns the waiters to fail (with their instance's address) and the idle connections to
    /// close. Busy connections close as their requests finish (``finished(_:key:error:lease:)`` returns
    /// ``Handoff/close(_:)``).
    mutating func drain() -> (waiters: [(Queued, String)], close: [Connection]) {
        draining = true
        var waiters: [(Queued, String)] = []
        var close: [Connection] = []
        for (key, _) in states.all {
            modify(key) { s in
                while let q = s.queue.popFirst() {
                    waiters.append((q, s.instance.address))
                    if !q.lease { s.counters[.shutdown] += 1 }
                }
                for slot in s.slots where slot.idle { close.append(slot.connection) }
                s.slots.removeAll { $0.idle }
            }
        }
        return (waiters, close)
    }

    /// Every connection still open, forgotten: the last step of shutdown.
    mutating func removeAllConnections() -> [Connection] {
        var all: [Connection] = []
        for (key, _) in states.all {
            modify(key) { s in
                all.append(contentsOf: s.slots.map(\.connection))
                s.slots.removeAll()
            }
        }
        return all
    }
}
