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

        /// The deadline timers the caller keeps: one per instance queue, and the held-back empty set's.
        enum Timer: Equatable {
            case none
            /// Arm the queue's timer for then, replacing the one armed before; it calls ``expireQueue(_:timer:now:)``.
            case armQueue(InstanceKey, NIODeadline)
            /// The queue has no waiter left: cancel its timer.
            case cancelQueue(InstanceKey)
            /// The pool drains: cancel every queue's timer.
            case cancelAll
            /// An empty instance set was held back: call ``applyHeldBackEmptySet(now:)`` then.
            case emptySet(NIODeadline)
        }

        var request: Request = .none
        var serve: Serve = .none
        /// Waiters that fail, each with its error.
        var fail: [(Queued, PoolError)] = []
        /// Waiters to pick again: their instance left or was ejected.
        var repick: [Queued] = []
        var dials: [Dial] = []
        /// Connections to close, with what fails on them (the requests still in flight).
        var close: [(Connection, PoolError)] = []
        var timer: Timer = .none
        /// The instance this call ejected (its connections are in `close`, its waiters in `repick`).
        var ejected: Instance?
        /// The pool drains and nothing is in flight or connecting any more: its shutdown may finish. Set once.
        var shutdownComplete = false
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
        guard queue.isEmpty, queueTimer != nil else { return .none }
        queueTimer = nil
        return .cancelQueue(key)
    }
}
