@testable import MindAlphaPool
import NIOCore

/// Readable views of the state machine's one action type, for the tests that drive it without sockets.
extension PoolStateMachine.Action {
    /// The connection the picked request is to be written on.
    var sentOn: Connection? {
        if case let .send(connection, _, _) = request { return connection }
        return nil
    }

    /// The instance queue the picked request waits in.
    var queuedIn: InstanceKey? {
        if case let .queued(key) = request { return key }
        return nil
    }

    /// Why the picked request fails.
    var failure: PoolError? {
        if case let .fail(error) = request { return error }
        return nil
    }

    /// The one connect asked for (a pick asks for at most one).
    var dial: PoolStateMachine.Dial? { dials.first }

    /// The waiters given a connection, in order.
    var served: [Waiter] {
        switch serve {
        case .none: []
        case let .one(_, _, queued): [queued.waiter]
        case let .all(_, queued): queued.map(\.waiter)
        }
    }

    /// The connection a freed slot went to a waiter on.
    var servedOn: ConnectionID? {
        if case let .one(_, id, _) = serve { return id }
        return nil
    }

    /// The waiter given a freed connection, with the whole queue entry.
    var servedOne: PoolStateMachine.Queued? {
        if case let .one(_, _, queued) = serve { return queued }
        return nil
    }

    var failed: [Waiter] { fail.map(\.0.waiter) }
    var closed: [Connection] { close.map(\.0) }
    var ejectedAddress: String? { ejected }

    /// When the queue's timer is to fire (armed by this action).
    var armed: NIODeadline? {
        if case let .armQueue(_, at, _) = timer { return at }
        return nil
    }

    var emptySetAt: NIODeadline? {
        if case let .emptySet(at) = timer { return at }
        return nil
    }

    var cancelsQueueTimer: Bool {
        if case .cancelQueue = timer { return true }
        return false
    }

    /// Nothing to do at all (and nothing but the two per-request fields was even set).
    var isNothing: Bool {
        if case .none = request, case .none = serve, effects == nil { return true }
        return false
    }
}
