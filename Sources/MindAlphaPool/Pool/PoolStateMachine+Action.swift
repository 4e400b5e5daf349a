import NIOCore

/// What the caller must do after one call of the state machine. Every entry point returns one, and one place
/// (`PoolCore.apply`) carries it out after the lock is released: the machine decides, the caller only does the I/O.
extension PoolStateMachine {
    struct Action {
        /// The request the call was about (a ``pick``).
        enum Request {
            case none
            /// Write it on this connection (its slot is already counted). The request stays with the caller: passing
            /// it through and back would copy it on the per-request path.
            case send(Connection, ConnectionID, InstanceKey)
            /// It waits in the instance's queue; it leaves it through a later action, or ``cancel(id:key:)``.
            case queued(InstanceKey)
            case fail(PoolError)
        }

        /// Waiters that leave their queue with a connection (their slots are already counted).
        enum Serve {
            case none
            /// A freed connection goes to the first waiter (the per-request case: no array).
            case one(Connection, ConnectionID, Queued)
            /// A new connection takes as many waiters as it can.
            case all(Connection, [Queued])
        }

        /// The deadline timers the caller keeps: one per instance queue, and the held-back empty set's. A queue's
        /// timer is named by its deadline, so that actions applied out of order (they are carried out after the lock
        /// is released, on several threads) never cancel a timer armed after the one they mean.
        enum Timer: Equatable {
            case none
            /// Arm the queue's timer for `at`, and cancel the one armed for `replacing` (a later deadline); it calls
            /// ``expireQueue(_:timer:now:)``.
            case armQueue(InstanceKey, at: NIODeadline, replacing: NIODeadline?)
            /// The queue has no waiter left: cancel its timer armed for that deadline.
            case cancelQueue(InstanceKey, at: NIODeadline)
            /// The pool drains: cancel every queue's timer.
            case cancelAll
            /// An empty instance set was held back: call ``applyHeldBackEmptySet(now:)`` then.
            case emptySet(NIODeadline)
        }

        var request: Request = .none
        var serve: Serve = .none
        /// Everything else, `nil` on the per-request path (a request written, a freed slot handed over): then
        /// the action holds no array and no reference, and nothing has to be retained, released or looked at.
        var effects: Effects?

        struct Effects {
            var fail: [(Queued, PoolError)] = []
            var repick: [Queued] = []
            var dials: [Dial] = []
            var close: [(Connection, PoolError)] = []
            var timer: Timer = .none
            var ejected: String?
            var shutdownComplete = false
        }

        /// Waiters that fail, each with its error.
        var fail: [(Queued, PoolError)] {
            get { effects?.fail ?? [] }
            _modify { if effects == nil { effects = Effects() }; yield &effects!.fail }
        }

        /// Waiters to pick again: their instance left or was ejected.
        var repick: [Queued] {
            get { effects?.repick ?? [] }
            _modify { if effects == nil { effects = Effects() }; yield &effects!.repick }
        }

        var dials: [Dial] {
            get { effects?.dials ?? [] }
            _modify { if effects == nil { effects = Effects() }; yield &effects!.dials }
        }

        /// Connections to close, with what fails on them (the requests still in flight).
        var close: [(Connection, PoolError)] {
            get { effects?.close ?? [] }
            _modify { if effects == nil { effects = Effects() }; yield &effects!.close }
        }

        var timer: Timer {
            get { effects?.timer ?? .none }
            set {
                if case .none = newValue, effects == nil { return }
                if effects == nil { effects = Effects() }
                effects!.timer = newValue
            }
        }

        /// The address of the instance this call ejected (its connections are in `close`, its waiters in `repick`).
        var ejected: String? {
            get { effects?.ejected }
            set { if effects == nil { effects = Effects() }; effects!.ejected = newValue }
        }

        /// The pool drains and nothing is in flight or connecting any more: its shutdown may finish. Set once.
        var shutdownComplete: Bool {
            get { effects?.shutdownComplete ?? false }
            set { if effects == nil { effects = Effects() }; effects!.shutdownComplete = newValue }
        }

        init(timer: Timer = .none) { self.timer = timer }
    }

    /// Open `count` connections to an instance, now or at `at` (the reconnect back-off).
    struct Dial {
        let key: InstanceKey
        let instance: Instance
        let count: Int
        var at: NIODeadline? = nil
    }

    /// Sets ``Action/shutdownComplete`` the first time the pool is draining with nothing in flight or connecting.
    /// Cheap while the pool runs (one flag); it counts only once the pool drains.
    mutating func noteShutdown(_ action: inout Action) {
        guard draining, !shutdownSignalled, inFlight == 0, connecting == 0 else { return }
        shutdownSignalled = true
        action.shutdownComplete = true
    }
}

extension PoolStateMachine.InstanceState {
    /// Gives slot `j` to a request (one more in flight, counted as sent) or to a checkout (leased).
    mutating func take(_ j: Int, lease: Bool) {
        if lease { slots[j].leased = true } else { slots[j].inFlight += 1; counters.sent += 1 }
    }

    /// Forgets the queue's timer once its last waiter left; the timer to cancel, if one was armed.
    mutating func timerIfEmptied(_ key: InstanceKey) -> PoolStateMachine.Action.Timer {
        guard queue.isEmpty, let armed = queueTimer else { return .none }
        queueTimer = nil
        return .cancelQueue(key, at: armed)
    }
}
