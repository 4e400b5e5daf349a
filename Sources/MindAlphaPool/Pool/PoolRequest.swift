import NIOCore
import NIOConcurrencyHelpers

/// A request (or a checkout) on its way through the pool.
struct PoolRequest: Sendable {
    enum Completion: Sendable {
        case promise(EventLoopPromise<PoolResponse>, RequestTicket?)
        case sink(any ResponseSink, UInt64)
        case checkout(EventLoopPromise<PoolConnection>)
    }

    let id: UInt64
    let body: ByteBuffer
    let deadline: NIODeadline
    let timeout: TimeAmount
    let completion: Completion
    /// The instance to send to, instead of the scheduler's pick.
    let pinned: String?

    /// When it was handed to the pool (its deadline less its timeout: one clock read per request, not two).
    var submittedAt: NIODeadline { deadline - timeout }

    var isCheckout: Bool {
        if case .checkout = completion { return true }
        return false
    }

    func complete(_ result: Result<PoolResponse, PoolError>) {
        switch completion {
        case let .promise(promise, _): promise.completeWith(result.mapError { $0 as any Error })
        case let .sink(sink, tag): sink.received(result, tag: tag)
        case let .checkout(promise):
            if case let .failure(error) = result { promise.fail(error) }
        }
    }
}

/// Where an async request is, so that cancelling its task can take it back from a queue or a connection.
final class RequestTicket: Sendable {
    enum Place {
        case new
        case queued(InstanceKey)
        case sent(PoolConnection)
        case cancelled
    }

    private let place = NIOLockedValueBox(Place.new)

    /// Notes the queue it waits in, unless it has already moved on.
    func queued(_ key: InstanceKey) {
        place.withLockedValue { if case .new = $0 { $0 = .queued(key) } }
    }

    /// Notes the connection it goes out on; `false` when it was cancelled first (then it must not be written).
    func sent(on connection: PoolConnection) -> Bool {
        place.withLockedValue {
            if case .cancelled = $0 { return false }
            $0 = .sent(connection)
            return true
        }
    }

    /// Marks it cancelled; returns where it was.
    func cancel() -> Place {
        place.withLockedValue {
            let was = $0
            $0 = .cancelled
            return was
        }
    }
}
