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

/// The pool's decisions, without I/O: which instance and connection a request goes to, who waits and until when,
/// what to connect and close, when an instance is ejected, when shutdown is complete. Every entry point returns one
/// ``Action``, what the caller must do; the caller holds the lock around the call and does the I/O after releasing
/// it, so nothing is ever dialled or written under the lock.
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

    /// A request or checkout waiting for a connection of one instance, until `deadline` (`timeout` after it was
    /// submitted: what its failure says).
    struct Queued {
        let id: UInt64
        let lease: Bool
        let deadline: NIODeadline
        let timeout: Duration
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

    let limits: Limits
    /// Named in ``PoolError/noInstances(_:)``.
    let sourceName: String
    var draining = false
    var states = InstanceTable<InstanceState>()
    var keys: [String: InstanceKey] = [:]
    var scheduler: any WeightedScheduler
    /// `scheduleKeys[i]` is the instance of `scheduler.targets[i]`.
    var scheduleKeys: [InstanceKey] = []
    var nextKey = 0
    var nextExpiry: NIODeadline?
    /// Failures of requests that never reached an instance.
    var unplaced = RequestCounters()
    /// What happened to the fleet (joins, leaves, re-weights, ejections, returns, discovery outages), oldest first.
    var events = PoolEventLog()
    /// Whether an instance set was applied yet (the first one's instances are not "joined" events).
    var hadInstances = false
    /// The last connection-level failure's cause per instance, for the words of an ejection event.
    var lastCause: [InstanceKey: String] = [:]
    /// Since when discovery has listed no instance while the last set stays in use.
    var emptySince: NIODeadline?
    /// Whether ``Action/shutdownComplete`` was returned.
    var shutdownSignalled = false

    init(limits: Limits, algorithm: SchedulingAlgorithm, sourceName: String) {
        self.limits = limits
        self.sourceName = sourceName
        self.scheduler = algorithm.makeScheduler([])
    }

    // MARK: requests

    /// Picks the instance by the scheduler (skipping ejected ones) and a connection of it.
    /// `pinned` names the instance to use instead of the scheduler's pick (ejected or not).
    /// `deadline` is how long it may wait in a queue (a queue keeps one timer, armed for its earliest deadline);
    /// `timeout` is what its failure then says it waited.
    mutating func pick(
        _ waiter: Waiter, id: UInt64, lease: Bool = false, pinned: String? = nil, now: NIODeadline,
        deadline: NIODeadline = .distantFuture, timeout: Duration = .zero
    ) -> Action {
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
        var action = modify(key) { s -> Action in
            var action = Action()
            // Strictly first come, first served: nobody overtakes a waiter of this instance.
            let j = s.queue.isEmpty ? s.choose(lease: lease, maxInFlight: limits.maxInFlight) : nil
            if j.map({ !s.slots[$0].idle }) ?? true, s.slots.count + s.connecting < limits.maxConnections {
                s.connecting += 1
                action.dials = [Dial(key: key, instance: s.instance, count: 1, at: s.dialTime(now: now))]
            }
            // Nothing open and the last connect failed: fail at once with its cause while the next connect waits
            // out the back-off, rather than waiting for a connection that is not coming.
            if j == nil, s.slots.isEmpty, let error = s.lastConnectError, s.dialTime(now: now) != nil {
                if !lease { s.counters[error.errorClass] += 1 }
                action.request = .fail(error)
                return action
            }
            guard let j else {
                s.queue.append(Queued(id: id, lease: lease, deadline: deadline, timeout: timeout, waiter: waiter))
                if deadline != .distantFuture, s.queueTimer.map({ deadline < $0 }) ?? true {
                    action.timer = .armQueue(key, at: deadline, replacing: s.queueTimer)
                    s.queueTimer = deadline
                }
                action.request = .queued(key)
                return action
            }
            s.take(j, lease: lease)
            action.request = .send(s.slots[j].connection, s.slots[j].id, key)
            return action
        }
        // A request failed at once for want of a connection is that instance's failure too.
        if case let .fail(error) = action.request, error.instance != nil, pinned == nil {
            judge(key, error: error.errorClass, now: now, into: &action)
        }
        return action
    }

    /// The scheduler's next instance, passing over one being probed that already has its one request.
    mutating func nextScheduled() -> InstanceKey? {
        for _ in 0..<max(1, scheduleKeys.count) {
            guard let index = scheduler.next() else { return nil }
            let key = scheduleKeys[index]
            let busyProbe = modify(key) { $0.health.state == .probing && $0.outstanding > 0 }
            if !busyProbe { return key }
        }
        return nil
    }

    mutating func fail(_ error: PoolError) -> Action {
        unplaced[error.errorClass] += 1
        var action = Action()
        action.request = .fail(error)
        return action
    }

    /// Counts a request written on a checked-out connection.
    mutating func sentOnLease(key: InstanceKey) {
        if has(key) { modify(key) { $0.counters.sent += 1 } }
    }

    func has(_ key: InstanceKey) -> Bool { states.contains(key) }

    /// Runs `body` on an instance's state in place; the state must exist.
    @discardableResult
    mutating func modify<R>(_ key: InstanceKey, _ body: (inout InstanceState) -> R) -> R {
        states.modify(key, body)
    }
}

extension PoolStateMachine: Sendable where Connection: Sendable, Waiter: Sendable {}
extension PoolStateMachine.Slot: Sendable where Connection: Sendable, Waiter: Sendable {}
extension PoolStateMachine.Queued: Sendable where Connection: Sendable, Waiter: Sendable {}
extension PoolStateMachine.InstanceState: Sendable where Connection: Sendable, Waiter: Sendable {}
