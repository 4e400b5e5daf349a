import NIOCore

/// Identifies an instance's entry for the life of the pool.
struct InstanceKey: Hashable, Sendable {
    var raw: Int
}

/// Identifies one connection for the life of the pool.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let raw: Int
    public var description: String { "#\(raw)" }
}

/// The pool's decisions, without I/O: which instance and connection a request goes to, who waits, what to
/// connect and close, when an instance is ejected. Every method returns what the caller must do; the caller holds
/// the lock around it and does the I/O after releasing it, so nothing is ever dialled or written under the lock.
///
/// `Connection` is whatever the caller writes to; `Waiter` is a request (or a checkout) that may have to wait.
/// Time comes in as `now`, so the logic is tested without clocks or sockets.
struct PoolStateMachine<Connection, Waiter> {
    struct Limits: Sendable {
        var maxConnections: Int
        var maxInFlight: Int
        var ejection: EjectionPolicy
        /// How long an instance set with no instance at all is held back (``PoolConfiguration/emptySetGrace``).
        var emptySetGrace: Duration = .zero
    }

    struct Slot {
        let id: ConnectionID
        let connection: Connection
        var inFlight = 0
        var leased = false

        var idle: Bool { inFlight == 0 && !leased }
    }

    /// A request or checkout waiting for a connection of one instance, until `deadline`.
    struct Queued {
        let id: UInt64
        let lease: Bool
        let deadline: NIODeadline
        let waiter: Waiter
    }

    struct InstanceState {
        var instance: Instance
        var slots: [Slot] = []
        var connecting = 0
        var cursor = 0
        /// The slot that last became idle: the first one tried (O(1) in a closed loop, and its connection is warm).
        var freed = -1
        var health = InstanceHealth()
        /// The last connect's failure while nothing is open: what a request fails with at once meanwhile.
        var lastConnectError: PoolError?
        var removed = false
        var queue = CircularBuffer<Queued>()
        /// When the queue's one deadline timer fires (at or before its earliest deadline); `nil` when none is armed.
        var queueTimer: NIODeadline?
        var counters = RequestCounters()
        var connects = ConnectCounters()

        init(_ instance: Instance) { self.instance = instance }

        func canServe(_ slot: Slot, lease: Bool, maxInFlight: Int) -> Bool {
            lease ? slot.idle : !slot.leased && slot.inFlight < maxInFlight
        }

        /// The connection for the next request: an idle one (round robin), else the least loaded under the limit.
        mutating func choose(lease: Bool, maxInFlight: Int) -> Int? {
            let count = slots.count
            if freed >= 0, freed < count, slots[freed].inFlight == 0, !slots[freed].leased {
                defer { freed = -1 }
                return freed
            }
            var best = -1
            var bestLoad = Int.max
            var j = cursor < count ? cursor : 0
            for _ in 0..<count {
                // Fields, not the slot: copying a slot would retain its connection.
                let load = slots[j].inFlight
                let leased = slots[j].leased
                if load == 0, !leased { best = j; break }
                if !lease, !leased, load < maxInFlight, load < bestLoad {
                    best = j
                    bestLoad = load
                }
                j = j + 1 == count ? 0 : j + 1
            }
            guard best >= 0 else { return nil }
            cursor = best + 1
            return best
        }

        /// Requests on it or waiting for it: a probed instance takes one at a time.
        var outstanding: Int { queue.count + slots.reduce(0) { $0 + $1.inFlight + ($1.leased ? 1 : 0) } }

        /// When to open the next connection: now (`nil`), or after the reconnect back-off.
        func dialTime(now: NIODeadline) -> NIODeadline? {
            health.nextDialAt.flatMap { $0 > now ? $0 : nil }
        }
    }

    /// What to do with a request just picked.
    enum Decision {
        /// Write it on this connection (its slot is already counted). The waiter stays with the caller: not
        /// passing it through and back saves copies on the per-request path.
        case send(Connection, ConnectionID, InstanceKey)
        /// It waits in the instance's queue; it comes back from a later call, or from ``cancel(id:key:)``.
        case queued(InstanceKey)
        case fail(PoolError)
    }

    /// Open `count` connections to an instance, now or at `at` (the reconnect back-off).
    struct Dial {
        let key: InstanceKey
        let instance: Instance
        let count: Int
        var at: NIODeadline? = nil
    }

    /// An instance just ejected: close its connections (what is in flight on them fails), send its waiters
    /// elsewhere.
    struct Ejection {
        var instance: Instance
        var close: [Connection] = []
        var repick: [Queued] = []
    }

    struct Pick {
        var decision: Decision
        var dial: Dial?
        /// A queued request's deadline is the queue's earliest: arm its timer for then (``expireQueue(_:timer:now:)``).
        var armQueueTimer: NIODeadline?
        /// Failing at once (the instance cannot be connected to) ejected it.
        var ejection: Ejection?
    }

    /// What a queue's deadline timer found.
    struct Expired {
        /// Waiters whose deadline passed (counted as `unavailable`), with their instance's address.
        var waiters: [Queued] = []
        var address = ""
        /// Arm the queue's timer again for then.
        var rearm: NIODeadline?
    }

    /// What to do after a request finished or a connection freed up.
    enum Handoff {
        case none
        /// Give this connection to a waiter (a request to write, or a checkout to complete).
        case serve(Connection, ConnectionID, InstanceKey, Queued)
        /// The connection is no longer needed (its instance left, or the pool is draining): close it.
        case close(Connection)
        /// The outcome ejected the instance.
        case eject(Ejection)
    }

    /// What to do after a connect succeeded.
    struct Connected {
        var close = false
        var serve: [Queued] = []
    }

    /// What to do after a connection closed or a connect failed.
    struct Lost {
        var fail: [Queued] = []
        var dial: Dial?
        var ejection: Ejection?
    }

    /// What to do after the instance set changed.
    struct Updated {
        var dials: [Dial] = []
        var close: [Connection] = []
        /// Waiters of instances that left: pick again.
        var repick: [Queued] = []
        /// An empty set was held back: call ``applyHeldBackEmptySet(now:)`` then.
        var emptySetDeadline: NIODeadline?
    }

    let limits: Limits
    /// Named in ``PoolError/noInstances(_:)``.
    let sourceName: String
    private(set) var draining = false
    private var states = InstanceTable<InstanceState>()
    private var keys: [String: InstanceKey] = [:]
    private var scheduler: any WeightedScheduler
    /// `scheduleKeys[i]` is the instance of `scheduler.targets[i]`.
    private var scheduleKeys: [InstanceKey] = []
    private var nextKey = 0
    private var nextExpiry: NIODeadline?
    /// Failures of requests that never reached an instance.
    private(set) var unplaced = RequestCounters()
    /// What happened to the fleet (joins, leaves, re-weights, ejections, returns, discovery outages), oldest first.
    private(set) var events = PoolEventLog()
    /// Whether an instance set was applied yet (the first one's instances are not "joined" events).
    private var hadInstances = false
    /// The last connection-level failure's cause per instance, for the words of an ejection event.
    private var lastCause: [InstanceKey: String] = [:]
    /// Since when discovery has listed no instance while the last set stays in use.
    private var emptySince: NIODeadline?

    init(limits: Limits, algorithm: SchedulingAlgorithm, sourceName: String) {
        self.limits = limits
        self.sourceName = sourceName
        self.scheduler = algorithm.makeScheduler([])
    }

    // MARK: requests

    /// Picks the instance by the scheduler (skipping ejected ones) and a connection of it.
    /// `pinned` names the instance to use instead of the scheduler's pick (ejected or not).
    /// `deadline` is how long it may wait in a queue (a queue keeps one timer, armed for its earliest deadline).
    mutating func pick(
        _ waiter: Waiter, id: UInt64, lease: Bool = false, pinned: String? = nil, now: NIODeadline,
        deadline: NIODeadline = .distantFuture
    ) -> Pick {
        guard !draining else { return fail(.shuttingDown) }
        if let expiry = nextExpiry, expiry <= now { reschedule(now: now) }
        let key: InstanceKey
        if let pinned {
            guard let k = keys[pinned], !modify(k, { $0.removed }) else {
                return fail(.noSuchInstance(pinned, source: sourceName))
            }
            key = k
        } else {
            guard let k = nextScheduled() else {
                if let expiry = nextExpiry {
                    return fail(.allEjected(instances: states.count, retryIn: Duration(max(.zero, expiry - now))))
                }
                return fail(.noInstances(sourceName))
            }
            key = k
        }
        let limits = self.limits
        var pick = modify(key) { s -> Pick in
            // Strictly first come, first served: nobody overtakes a waiter of this instance.
            let j = s.queue.isEmpty ? s.choose(lease: lease, maxInFlight: limits.maxInFlight) : nil
            var dial: Dial?
            if j.map({ !s.slots[$0].idle }) ?? true, s.slots.count + s.connecting < limits.maxConnections {
                s.connecting += 1
                dial = Dial(key: key, instance: s.instance, count: 1, at: s.dialTime(now: now))
            }
            // Nothing open and the last connect failed: fail at once with its cause while the next connect waits
            // out the back-off, rather than waiting for a connection that is not coming.
            if j == nil, s.slots.isEmpty, let error = s.lastConnectError, s.dialTime(now: now) != nil {
                if !lease { s.counters[error.errorClass] += 1 }
                return Pick(decision: .fail(error), dial: dial)
            }
            guard let j else {
                s.queue.append(Queued(id: id, lease: lease, deadline: deadline, waiter: waiter))
                var arm: NIODeadline?
                if deadline != .distantFuture, s.queueTimer.map({ deadline < $0 }) ?? true {
                    s.queueTimer = deadline
                    arm = deadline
                }
                return Pick(decision: .queued(key), dial: dial, armQueueTimer: arm)
            }
            if lease { s.slots[j].leased = true } else { s.slots[j].inFlight += 1; s.counters.sent += 1 }
            return Pick(decision: .send(s.slots[j].connection, s.slots[j].id, key), dial: dial)
        }
        // A request failed at once for want of a connection is that instance's failure too.
        if case let .fail(error) = pick.decision, error.instance != nil, pinned == nil {
            pick.ejection = judge(key, error: error.errorClass, now: now)
        }
        return pick
    }

    /// The scheduler's next instance, passing over one being probed that already has its one request.
    private mutating func nextScheduled() -> InstanceKey? {
        for _ in 0..<max(1, scheduleKeys.count) {
            guard let index = scheduler.next() else { return nil }
            let key = scheduleKeys[index]
            let busyProbe = modify(key) { $0.health.state == .probing && $0.outstanding > 0 }
            if !busyProbe { return key }
        }
        return nil
    }

    private mutating func fail(_ error: PoolError) -> Pick {
        unplaced[error.errorClass] += 1
        return Pick(decision: .fail(error))
    }

    /// Counts a request written on a checked-out connection.
    mutating func sentOnLease(key: InstanceKey) {
        if has(key) { modify(key) { $0.counters.sent += 1 } }
    }

    /// Counts the result of a request written on a checked-out connection (its slot is the checkout's); returns an
    /// ejection when that outcome ejected the instance.
    mutating func countLeased(key: InstanceKey, error: PoolError.Class?, now: NIODeadline) -> Ejection? {
        guard has(key) else { return nil }
        modify(key) { s in
            if let error { s.counters[error] += 1 } else { s.counters.ok += 1 }
        }
        return judge(key, error: error, now: now)
    }

    /// Whether a failure of this class says something about the instance (and counts toward its ejection).
    static func countsAgainstInstance(_ error: PoolError.Class) -> Bool {
        switch error {
        case .connect, .closed, .protocol, .timeout: true
        case .unavailable, .cancelled, .shutdown, .client: false
        }
    }

    /// Feeds an outcome to the instance's outlier detection; returns the ejection it caused, if any.
    private mutating func judge(_ key: InstanceKey, error: PoolError.Class?, now: NIODeadline, unmatched: Bool = false) -> Ejection? {
        let (policy, draining) = (limits.ejection, self.draining)
        let verdict = modify(key) { s -> InstanceHealth.Verdict in
            Self.verdict(&s, error: error, policy: policy, draining: draining)
        }
        return settle(key, verdict, error: error, now: now, unmatched: unmatched)
    }

    /// One outcome, as the instance's health takes it.
    private static func verdict(
        _ s: inout InstanceState, error: PoolError.Class?, policy: EjectionPolicy, draining: Bool
    ) -> InstanceHealth.Verdict {
        guard !s.removed, !draining else { return .none }
        guard let error else { return s.health.success() }
        return countsAgainstInstance(error) ? s.health.failure(policy) : .none
    }

    /// Acts on a verdict: the return event, or the ejection.
    private mutating func settle(
        _ key: InstanceKey, _ verdict: InstanceHealth.Verdict, error: PoolError.Class?, now: NIODeadline, unmatched: Bool = false
    ) -> Ejection? {
        switch verdict {
        case .none: return nil
        case .returned:
            events.append(PoolEvent(at: now, instance: modify(key) { $0.instance.address }, kind: .returned))
            return nil
        case .eject:
            return eject(key, now: now, error: unmatched ? nil : error)
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

    /// Ejects an instance unless that would put more of the fleet out than the policy allows.
    private mutating func eject(_ key: InstanceKey, now: NIODeadline, error: PoolError.Class?) -> Ejection? {
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
            return nil
        }
        let what = lastCause.removeValue(forKey: key).map { "\(Self.failing(error)): \($0)" } ?? Self.failing(error)
        let (ejection, reason, duration) = modify(key) { s -> (Ejection, String, Duration) in
            let reason: String
            if s.health.state == .probing {
                reason = "its probe failed (\(what))"
            } else if s.health.consecutive >= policy.consecutiveFailures, policy.consecutiveFailures > 0 {
                reason = "\(s.health.consecutive) failures in a row (\(what))"
            } else {
                reason = "\(s.health.failuresInWindow) of its last \(InstanceHealth.window) outcomes failed (\(what))"
            }
            let duration = s.health.eject(now: now, policy)
            var e = Ejection(instance: s.instance)
            e.close = s.slots.map(\.connection)
            s.slots.removeAll()
            s.freed = -1
            while let q = s.queue.popFirst() { e.repick.append(q) }
            return (e, reason, duration)
        }
        events.append(PoolEvent(at: now, instance: ejection.instance.address, kind: .ejected(reason: reason, duration: duration)))
        reschedule(now: now)
        return ejection
    }

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

    // MARK: connections

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

    private mutating func lost(key: InstanceKey, error: PoolError?, now: NIODeadline) -> Lost {
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

    // MARK: discovery

    /// Applies a new instance set: new instances get `maxConnections` connects and enter the schedule; removed ones
    /// leave it at once, their idle connections close and the rest close when their last request finishes; weights
    /// apply from the next pick. The first entry for an address wins.
    ///
    /// A set with no instance at all, while the pool has some, is held back for ``Limits/emptySetGrace`` (a Consul
    /// that restarted lists its services only once their checks pass again): the last set stays in use, an event
    /// says so, and the empty set applies only if no other arrives meanwhile (``applyHeldBackEmptySet(now:)``).
    mutating func update(_ instances: [Instance], now: NIODeadline) -> Updated {
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
                return Updated(emptySetDeadline: now + TimeAmount(grace))
            }
            if now < since + TimeAmount(grace) { return Updated(emptySetDeadline: since + TimeAmount(grace)) }
        }
        emptySince = nil
        var result = Updated()
        for (address, key) in keys where wanted[address] == nil && states.contains(key) && !modify(key, { $0.removed }) {
            events.append(PoolEvent(at: now, instance: address, kind: .left))
            let gone = modify(key) { s -> Bool in
                s.removed = true
                s.health.reset()
                for slot in s.slots where slot.idle { result.close.append(slot.connection) }
                s.slots.removeAll { $0.idle }
                while let q = s.queue.popFirst() { result.repick.append(q) }
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
    mutating func applyHeldBackEmptySet(now: NIODeadline) -> Updated {
        guard let since = emptySince, now >= since + TimeAmount(limits.emptySetGrace) else { return Updated() }
        return update([], now: now)
    }

    /// Instances in the schedule: neither removed nor ejected (ejections that ran out are lifted here).
    private mutating func reschedule(now: NIODeadline) {
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

    private mutating func forget(_ key: InstanceKey) {
        if let state = states.remove(key) { keys[state.instance.address] = nil }
    }

    // MARK: shutdown

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

    // MARK: statistics

    mutating func noteLate(key: InstanceKey) {
        if has(key) { modify(key) { $0.counters.late += 1 } }
    }

    /// An answer to a request already answered: counted, and a failure for outlier detection.
    mutating func noteDuplicate(key: InstanceKey, now: NIODeadline) -> Ejection? {
        guard has(key) else { return nil }
        modify(key) { $0.counters.duplicate += 1 }
        return judge(key, error: .protocol, now: now, unmatched: true)
    }

    /// An answer with an ID never in flight on its connection: counted, and a failure for outlier detection.
    mutating func noteUnknown(key: InstanceKey, now: NIODeadline) -> Ejection? {
        guard has(key) else { return nil }
        modify(key) { $0.counters.unknown += 1 }
        return judge(key, error: .protocol, now: now, unmatched: true)
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

    private func has(_ key: InstanceKey) -> Bool { states.contains(key) }

    /// Runs `body` on an instance's state in place; the state must exist.
    @discardableResult
    private mutating func modify<R>(_ key: InstanceKey, _ body: (inout InstanceState) -> R) -> R {
        states.modify(key, body)
    }
}

/// Instance states indexed by key (keys are handed out in sequence and never reused): a lookup is an array index,
/// not a hash.
struct InstanceTable<State> {
    private var entries: [State?] = []
    private var live: [Bool] = []

    func contains(_ key: InstanceKey) -> Bool { key.raw < live.count && live[key.raw] }

    mutating func insert(_ state: State, at key: InstanceKey) {
        while entries.count <= key.raw {
            entries.append(nil)
            live.append(false)
        }
        entries[key.raw] = state
        live[key.raw] = true
    }

    mutating func remove(_ key: InstanceKey) -> State? {
        guard contains(key) else { return nil }
        live[key.raw] = false
        defer { entries[key.raw] = nil }
        return entries[key.raw]
    }

    mutating func modify<R>(_ key: InstanceKey, _ body: (inout State) -> R) -> R {
        body(&entries[key.raw]!)
    }

    var count: Int { live.lazy.filter { $0 }.count }

    /// Every live entry, in key order.
    var all: [(InstanceKey, State)] {
        entries.indices.compactMap { i in entries[i].map { (InstanceKey(raw: i), $0) } }
    }
}

extension PoolStateMachine: Sendable where Connection: Sendable, Waiter: Sendable {}
extension PoolStateMachine.Slot: Sendable where Connection: Sendable, Waiter: Sendable {}
extension PoolStateMachine.Queued: Sendable where Connection: Sendable, Waiter: Sendable {}
extension PoolStateMachine.InstanceState: Sendable where Connection: Sendable, Waiter: Sendable {}
extension InstanceTable: Sendable where State: Sendable {}
