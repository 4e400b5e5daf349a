import NIOCore

/// The instance set from discovery (joins, leaves, re-weights, the held-back empty set), events and statistics.
extension PoolStateMachine {
    /// Applies a new instance set: new instances get `maxConnections` connects and enter the schedule; removed ones
    /// leave it at once, their idle connections close and the rest close when their last request finishes; weights
    /// apply from the next pick. The first entry for an address wins.
    ///
    /// A set with no instance at all, while the pool has some, is held back for ``Limits/emptySetGrace`` (a Consul
    /// that restarted lists its services only once their checks pass again): the last set stays in use, an event
    /// says so, and the empty set applies only if no other arrives meanwhile (``applyHeldBackEmptySet(now:)``).
    mutating func update(_ instances: [Instance], now: NIODeadline) -> Action {
        var wanted: [String: Instance] = [:]
        var ordered: [Instance] = []
        for instance in instances where wanted[instance.address] == nil {
            wanted[instance.address] = instance
            ordered.append(instance)
        }
        let grace = limits.emptySetGrace
        let live = states.all.filter { !$0.1.removed }.count
        if ordered.isEmpty, grace > .zero, live > 0, !draining {
            guard let since = emptySince else {
                emptySince = now
                events.append(PoolEvent(at: now, instance: nil, kind: .emptySetHeldBack(kept: live, for: grace)))
                return Action(timer: .emptySet(now + TimeAmount(grace)))
            }
            if now < since + TimeAmount(grace) { return Action(timer: .emptySet(since + TimeAmount(grace))) }
        }
        emptySince = nil
        var result = Action()
        for (address, key) in keys where wanted[address] == nil && states.contains(key) && !modify(key, { $0.removed }) {
            events.append(PoolEvent(at: now, instance: address, kind: .left))
            let gone = modify(key) { s -> Bool in
                s.removed = true
                s.health.reset()
                for slot in s.slots where slot.idle { result.close.append((slot.connection, .shuttingDown)) }
                s.slots.removeAll { $0.idle }
                // Its queue timer, if armed, fires on an empty queue and does nothing.
                while let q = s.queue.popFirst() { result.repick.append(q) }
                s.queueTimer = nil
                return s.slots.isEmpty && s.connecting == 0
            }
            if gone { forget(key) }
        }
        for instance in ordered {
            let key: InstanceKey
            if let existing = keys[instance.address] {
                key = existing
                let (was, weight) = modify(key) { ($0.removed, $0.instance.weight) }
                if was {
                    events.append(PoolEvent(at: now, instance: instance.address, kind: .joined(weight: instance.weight)))
                } else if weight != instance.weight {
                    events.append(PoolEvent(at: now, instance: instance.address, kind: .reweighted(from: weight, to: instance.weight)))
                }
            } else {
                key = InstanceKey(raw: nextKey)
                nextKey += 1
                keys[instance.address] = key
                states.insert(InstanceState(instance), at: key)
                if hadInstances { events.append(PoolEvent(at: now, instance: instance.address, kind: .joined(weight: instance.weight))) }
            }
            let max = limits.maxConnections
            let draining = self.draining
            let dial = modify(key) { s -> Dial? in
                s.instance = instance
                s.removed = false
                let missing = draining ? 0 : max - s.slots.count - s.connecting
                guard missing > 0 else { return nil }
                s.connecting += missing
                return Dial(key: key, instance: instance, count: missing)
            }
            if let dial { result.dials.append(dial) }
        }
        if !ordered.isEmpty { hadInstances = true }
        reschedule(now: now)
        return result
    }

    /// An empty instance set held back by ``update(_:now:)`` applies now if nothing else came since and its grace
    /// is over.
    mutating func applyHeldBackEmptySet(now: NIODeadline) -> Action {
        guard let since = emptySince, now >= since + TimeAmount(limits.emptySetGrace) else { return Action() }
        return update([], now: now)
    }

    /// Instances in the schedule: neither removed nor ejected (ejections that ran out are lifted here).
    mutating func reschedule(now: NIODeadline) {
        var targets: [WeightedTarget] = []
        nextExpiry = nil
        for (key, state) in states.all where !state.removed {
            if let until = state.health.ejectedUntil {
                if until > now {
                    nextExpiry = min(nextExpiry ?? until, until)
                    continue
                }
                // The ejection ran out: back in the schedule on probation, one request at a time.
                modify(key) { _ = $0.health.lift(now: now) }
            }
            targets.append(WeightedTarget(name: state.instance.address, weight: state.instance.weight))
        }
        scheduler.update(targets)
        scheduleKeys = scheduler.targets.map { keys[$0.name]! }
    }

    mutating func forget(_ key: InstanceKey) {
        if let state = states.remove(key) { keys[state.instance.address] = nil }
    }

    /// Records an event that does not come from the state machine's own decisions (a discovery outage).
    mutating func record(_ event: PoolEvent) { events.append(event) }

    var connecting: Int { states.all.reduce(0) { $0 + $1.1.connecting } }

    var inFlight: Int { states.all.reduce(0) { $0 + $1.1.slots.reduce(0) { $0 + $1.inFlight + ($1.leased ? 1 : 0) } } }

    func statistics(now: NIODeadline, discoveryError: String? = nil) -> PoolStatistics {
        let order = Dictionary(uniqueKeysWithValues: scheduleKeys.enumerated().map { ($1, $0) })
        let sorted = states.all.sorted { a, b in
            let (x, y) = (order[a.0], order[b.0])
            if let x, let y { return x < y }
            if x != nil || y != nil { return x != nil }
            return (a.1.instance.weight, b.1.instance.address) > (b.1.instance.weight, a.1.instance.address)
        }
        let instances = sorted.map { _, s in
            let idle = s.slots.filter(\.idle).count
            return PoolStatistics.InstanceStatistics(
                instance: s.instance, open: s.slots.count, idle: idle, busy: s.slots.count - idle,
                connecting: s.connecting, inFlight: s.slots.reduce(0) { $0 + $1.inFlight }, waiting: s.queue.count,
                counters: s.counters, connects: s.connects,
                ejectedFor: s.health.ejectedUntil.flatMap { $0 > now ? Duration($0 - now) : nil },
                probing: s.health.state == .probing, removed: s.removed)
        }
        return PoolStatistics(instances: instances, unplaced: unplaced, discoveryError: discoveryError, draining: draining)
    }
}
