import NIOCore

/// Connections made, failed and lost, and the shutdown that closes them.
extension PoolStateMachine {
    /// A connect finished: the new connection serves the instance's waiters, or is closed when unwanted.
    mutating func connected(_ id: ConnectionID, key: InstanceKey, connection: Connection) -> Action {
        var action = Action()
        guard has(key) else {
            action.close = [(connection, .shuttingDown)]
            return action
        }
        let limits = self.limits
        let draining = self.draining
        modify(key) { s in
            s.connecting -= 1
            s.connects.opened += 1
            s.lastConnectError = nil
            if draining || s.removed {
                action.close = [(connection, .shuttingDown)]
                return
            }
            s.slots.append(Slot(id: id, connection: connection))
            let j = s.slots.count - 1
            var served: [Queued] = []
            while let head = s.queue.first, s.canServe(s.slots[j], lease: head.lease, maxInFlight: limits.maxInFlight) {
                s.queue.removeFirst()
                s.take(j, lease: head.lease)
                served.append(head)
            }
            if !served.isEmpty {
                action.serve = .all(connection, served)
                action.timer = s.timerIfEmptied(key)
            }
        }
        noteShutdown(&action)
        return action
    }

    /// A connect failed.
    mutating func connectFailed(key: InstanceKey, error: PoolError, now: NIODeadline) -> Action {
        guard has(key) else { return Action() }
        modify(key) { s in
            s.connecting -= 1
            s.connects.failed += 1
            if error.errorClass == .connect || error.errorClass == .client { s.lastConnectError = error }
            if case let .clientLimit(_, reason) = error.code {
                s.connects.clientLimited += 1
                if s.connects.firstClientLimit == nil { s.connects.firstClientLimit = reason }
            }
        }
        return lost(key: key, error: error, now: now)
    }

    /// A connection closed; `error` when it failed rather than being closed by the pool.
    mutating func closed(_ id: ConnectionID, key: InstanceKey, error: PoolError?, now: NIODeadline) -> Action {
        guard has(key) else { return Action() }
        modify(key) { s in s.slots.removeAll { $0.id == id } }
        return lost(key: key, error: error, now: now)
    }

    /// A connection or a connect is gone: a failure counts against the instance; waiters with nothing open or opening
    /// get a new connect (after the back-off), or fail when none is coming.
    mutating func lost(key: InstanceKey, error: PoolError?, now: NIODeadline) -> Action {
        let policy = limits.ejection
        let draining = self.draining
        var action = Action()
        if let error {
            modify(key) { $0.health.connectionFailed(now: now, policy, seed: UInt64(key.raw)) }
            lastCause[key] = error.cause
            judge(key, error: error.errorClass, now: now, into: &action)
        }
        let gone = modify(key) { s -> Bool in
            if !s.queue.isEmpty, s.slots.isEmpty, s.connecting == 0 {
                let refused = error.map { $0.errorClass == .connect || $0.errorClass == .client } ?? false
                if !s.health.isEjected, !draining, !s.removed, !refused {
                    // Demand is waiting and nothing is open or opening: replace the connection (after the back-off).
                    s.connecting += 1
                    action.dials.append(Dial(key: key, instance: s.instance, count: 1, at: s.dialTime(now: now)))
                } else {
                    let failure = error ?? .connectionClosed(instance: s.instance.address, reason: "closed")
                    while let q = s.queue.popFirst() {
                        action.fail.append((q, failure))
                        if !q.lease { s.counters[failure.errorClass] += 1 }
                    }
                    if case .none = action.timer { action.timer = s.timerIfEmptied(key) }
                }
            }
            return s.removed && s.slots.isEmpty && s.connecting == 0
        }
        if gone { forget(key) }
        noteShutdown(&action)
        return action
    }

    /// Stops new requests: the waiters fail (as unfinished, naming their instance), the idle connections close, the
    /// queue timers are cancelled. Busy connections close as their requests finish (``finished(_:key:error:lease:now:)``).
    mutating func drain() -> Action {
        draining = true
        var action = Action()
        action.timer = .cancelAll
        for (key, _) in states.all {
            modify(key) { s in
                while let q = s.queue.popFirst() {
                    action.fail.append((q, .unfinished(instance: s.instance.address)))
                    if !q.lease { s.counters[.shutdown] += 1 }
                }
                s.queueTimer = nil
                for slot in s.slots where slot.idle { action.close.append((slot.connection, .shuttingDown)) }
                s.slots.removeAll { $0.idle }
            }
        }
        noteShutdown(&action)
        return action
    }

    /// Every connection still open, forgotten: the last step of shutdown. What is still in flight on them fails as
    /// unfinished.
    mutating func removeAllConnections() -> Action {
        var action = Action()
        for (key, _) in states.all {
            modify(key) { s in
                action.close += s.slots.map { ($0.connection, .unfinished(instance: s.instance.address)) }
                s.slots.removeAll()
            }
        }
        return action
    }
}
