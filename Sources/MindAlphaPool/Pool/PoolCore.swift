import Logging
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
import Synchronization

/// The pool's shared part: the state machine behind a lock, and the I/O it asks for, done outside the lock.
final class PoolCore: Sendable {
    typealias State = PoolStateMachine<PoolConnection, PoolRequest>

    let configuration: PoolConfiguration
    let group: any EventLoopGroup
    let logger: Logger
    /// A pthread mutex (NIOLockedValueBox) rather than `Synchronization.Mutex`, whose futex ThreadSanitizer cannot see.
    private let state: NIOLockedValueBox<State>
    /// Process-wide in the Go client; per pool here. Starts at 1 and is incremented before use (docs/protocol.md §1.4).
    private let requestIDs = Atomic<UInt64>(1)
    private let connectionIDs = Atomic<Int>(0)
    private let discoveryError = NIOLockedValueBox<String?>(nil)
    private let connects: ConnectBudget
    /// Set by ``drain()``: nothing new is connected after it.
    private let stopping = Atomic<Bool>(false)
    private let finishedConnects = Atomic<Int>(0)

    /// Connects finished so far (either way): how a wait for them tells progress from a stall.
    var connectsFinished: Int { finishedConnects.load(ordering: .relaxed) }
    /// Fired (and dropped) when no connect is left in progress.
    private let connectWaiters = NIOLockedValueBox<[Latch]>([])

    init(configuration: PoolConfiguration, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        let limits = State.Limits(
            maxConnections: configuration.maxConnectionsPerInstance,
            maxInFlight: configuration.maxInFlightPerConnection,
            ejection: configuration.ejection, emptySetGrace: configuration.emptySetGrace)
        var loops = 0
        for _ in group.makeIterator() { loops += 1 }
        self.connects = ConnectBudget(limit: configuration.connectsPerEventLoop * max(1, loops))
        self.state = NIOLockedValueBox(State(limits: limits, algorithm: configuration.algorithm, sourceName: configuration.sourceName))
    }

    func nextRequestID() -> UInt64 { requestIDs.add(1, ordering: .relaxed).newValue }

    func request(
        _ body: ByteBuffer, timeout: Duration?, completion: PoolRequest.Completion, pinned: String? = nil
    ) -> PoolRequest {
        let amount = TimeAmount(timeout ?? configuration.requestTimeout)
        return PoolRequest(
            id: nextRequestID(), body: body, deadline: .now() + amount, timeout: amount, completion: completion, pinned: pinned)
    }

    // MARK: requests

    /// Sends a request (or serves a checkout): now, after a wait in its instance's queue, or fails it.
    func submit(_ request: PoolRequest) {
        let pick = state.withLockedValue {
            $0.pick(request, id: request.id, lease: request.isCheckout, pinned: request.pinned, now: .now(), deadline: request.deadline)
        }
        if let dial = pick.dial { self.dial(dial) }
        if let ejection = pick.ejection { perform(ejection) }
        switch pick.decision {
        case let .send(connection, _, _):
            dispatch(request, on: connection)
        case let .queued(key):
            if case let .promise(_, ticket?) = request.completion { ticket.queued(key) }
            if let at = pick.armQueueTimer { armQueueTimer(key, at: at) }
        case let .fail(error):
            group.any().execute { request.complete(.failure(error)) }
        }
    }

    /// One timer per instance queue, for its earliest deadline: what waits past its deadline fails as
    /// ``PoolError/noConnection(instance:after:)``.
    private func armQueueTimer(_ key: InstanceKey, at deadline: NIODeadline) {
        group.any().scheduleTask(deadline: deadline) { [self] in
            let expired = state.withLockedValue { $0.expireQueue(key, timer: deadline, now: .now()) }
            for queued in expired.waiters {
                queued.waiter.complete(.failure(.noConnection(instance: expired.address, after: Duration(queued.waiter.timeout))))
            }
            if let next = expired.rearm { armQueueTimer(key, at: next) }
        }
    }

    /// Writes a request on the connection it was given, or completes a checkout with it.
    private func dispatch(_ request: PoolRequest, on connection: PoolConnection) {
        switch request.completion {
        case let .checkout(promise):
            promise.succeed(connection)
        case let .promise(_, ticket?):
            if ticket.sent(on: connection) {
                connection.send(request)
            } else {
                finished(connection.id, key: connection.key, error: .cancelled)
                request.complete(.failure(.cancelled))
            }
        default:
            connection.send(request)
        }
    }

    /// Takes back an async request whose task was cancelled.
    func cancel(_ request: PoolRequest, ticket: RequestTicket) {
        switch ticket.cancel() {
        case let .queued(key):
            if let (queued, _) = state.withLockedValue({ $0.cancel(id: request.id, key: key, countingAs: .cancelled) }) {
                queued.waiter.complete(.failure(.cancelled))
            }
        case let .sent(connection):
            connection.abandon(request.id, with: .cancelled)
        case .new, .cancelled:
            break
        }
    }

    /// A request on `id` finished; its slot may go to a waiter.
    func finished(_ id: ConnectionID, key: InstanceKey, error: PoolError.Class?) {
        let handoff = state.withLockedValue { $0.finished(id, key: key, error: error) }
        perform(handoff)
        noteIfIdle()
    }

    /// A checked-out connection came back.
    func checkedIn(_ connection: PoolConnection) {
        let handoff = state.withLockedValue { $0.finished(connection.id, key: connection.key, error: nil, lease: true) }
        perform(handoff)
        noteIfIdle()
    }

    func countLeased(key: InstanceKey, error: PoolError.Class?) {
        let ejection = state.withLockedValue { $0.countLeased(key: key, error: error, now: .now()) }
        if let ejection { perform(ejection) }
    }

    private func perform(_ handoff: State.Handoff) {
        switch handoff {
        case .none:
            break
        case let .serve(connection, _, _, queued):
            dispatch(queued.waiter, on: connection)
        case let .close(connection):
            connection.close(failing: .shuttingDown)
        case let .eject(ejection):
            perform(ejection)
        }
    }

    /// An instance was ejected: its connections close (failing what was in flight on them), its waiters are picked
    /// again (they go to other instances).
    private func perform(_ ejection: State.Ejection) {
        logger.notice("instance ejected by outlier detection", metadata: ["instance": "\(ejection.instance.address)"])
        let error = PoolError.connectionClosed(instance: ejection.instance.address, reason: "the instance was ejected")
        for connection in ejection.close { connection.close(failing: error) }
        for queued in ejection.repick { submit(queued.waiter) }
    }

    func noteLate(key: InstanceKey) { state.withLockedValue { $0.noteLate(key: key) } }

    func noteDuplicate(key: InstanceKey) {
        if let ejection = state.withLockedValue({ $0.noteDuplicate(key: key, now: .now()) }) { perform(ejection) }
    }

    func noteUnknown(key: InstanceKey) {
        if let ejection = state.withLockedValue({ $0.noteUnknown(key: key, now: .now()) }) { perform(ejection) }
    }

    // MARK: connections

    /// Opens connections: after the reconnect back-off when the dial says so, and within the connect budget (the
    /// connect timeout starts when the connect does).
    func dial(_ dial: State.Dial) {
        if let at = dial.at {
            group.any().scheduleTask(deadline: at) { [self] in
                var now = dial
                now.at = nil
                self.dial(now)
            }
            return
        }
        for _ in 0..<dial.count {
            let (key, instance) = (dial.key, dial.instance)
            connects.run({ [self] in
                if stopping.load(ordering: .relaxed) {
                    connects.done()
                    connectFailed(key: key, error: .shuttingDown)
                } else {
                    connect(key, instance)
                }
            }, cancel: { [self] in connectFailed(key: key, error: .shuttingDown) })
        }
    }

    private func connect(_ key: InstanceKey, _ instance: Instance) {
        let id = ConnectionID(raw: connectionIDs.add(1, ordering: .relaxed).newValue)
        let maxFrameSize = configuration.maxFrameSize
        ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PoolConnectionHandler(
                        core: self, id: id, key: key, address: instance.address, maxFrameSize: maxFrameSize))
                }
            }
            .connect(host: instance.host, port: instance.port)
            .whenComplete { [self] result in
                connects.done()
                finishedConnects.add(1, ordering: .relaxed)
                switch result {
                case let .success(channel):
                    guard channel.isActive,
                          let handler = try? channel.pipeline.syncOperations.handler(type: PoolConnectionHandler.self)
                    else {
                        connectFailed(key: key, error: .connectFailed(instance: instance.address, reason: "closed while connecting"))
                        return
                    }
                    connected(PoolConnection(id: id, key: key, address: instance.address, channel: channel, handler: handler))
                case let .failure(error):
                    if let limit = SocketErrorText.clientLimit(error) {
                        connectFailed(key: key, error: .clientLimit(instance: instance.address, reason: limit))
                    } else {
                        connectFailed(key: key, error: .connectFailed(instance: instance.address, reason: Self.describe(connectError: error)))
                    }
                }
            }
    }

    private func connected(_ connection: PoolConnection) {
        let result = state.withLockedValue { $0.connected(connection.id, key: connection.key, connection: connection) }
        if result.close { connection.close(failing: .shuttingDown) }
        for queued in result.serve { dispatch(queued.waiter, on: connection) }
        notifyIfConnected()
        noteIfIdle()
    }

    /// A latch that fires once no connect is in progress (at once if none is).
    func whenConnected() -> Latch {
        let latch = Latch()
        connectWaiters.withLockedValue { $0.append(latch) }
        notifyIfConnected()
        return latch
    }

    private func notifyIfConnected() {
        guard connectWaiters.withLockedValue({ !$0.isEmpty }), state.withLockedValue({ $0.connecting == 0 }) else { return }
        for latch in connectWaiters.withLockedValue({ w in defer { w = [] }; return w }) { latch.fire() }
    }

    private func connectFailed(key: InstanceKey, error: PoolError) {
        let lost = state.withLockedValue { $0.connectFailed(key: key, error: error, now: .now()) }
        handle(lost, error: error)
        notifyIfConnected()
        noteIfIdle()
    }

    /// A connection closed; `error` when it failed rather than being closed by the pool.
    func closed(_ id: ConnectionID, key: InstanceKey, error: PoolError?) {
        let lost = state.withLockedValue { $0.closed(id, key: key, error: error, now: .now()) }
        handle(lost, error: error ?? .shuttingDown)
        noteIfIdle()
    }

    private func handle(_ lost: State.Lost, error: PoolError) {
        if let ejection = lost.ejection { perform(ejection) }
        if let dial = lost.dial { self.dial(dial) }
        for queued in lost.fail { queued.waiter.complete(.failure(error)) }
    }

    static func describe(connectError error: any Error) -> String {
        if let e = error as? ChannelError, case let .connectTimeout(t) = e {
            return "connect timed out after \(formatDuration(Duration(t)))"
        }
        return SocketErrorText.describe(error)
    }

    // MARK: discovery

    func update(_ instances: [Instance]) {
        perform(state.withLockedValue { $0.update(instances, now: .now()) })
    }

    private func perform(_ updated: State.Updated) {
        for connection in updated.close { connection.close(failing: .shuttingDown) }
        for dial in updated.dials { self.dial(dial) }
        for queued in updated.repick { submit(queued.waiter) }
        if let deadline = updated.emptySetDeadline {
            // An empty set held back: it applies then, if nothing else came meanwhile.
            group.any().scheduleTask(deadline: deadline) { [self] in
                perform(state.withLockedValue { $0.applyHeldBackEmptySet(now: .now()) })
            }
        }
    }

    /// Notes that discovery fails (`error`) or answers again (`nil`); the first failure and the recovery are events.
    func discoveryFailed(_ error: String?) {
        let was = discoveryError.withLockedValue { stored in
            defer { stored = error }
            return stored
        }
        if was == nil, let error {
            state.withLockedValue { $0.record(PoolEvent(at: .now(), instance: nil, kind: .discoveryFailed(error))) }
        } else if was != nil, error == nil {
            state.withLockedValue { $0.record(PoolEvent(at: .now(), instance: nil, kind: .discoveryRecovered)) }
        }
    }

    func events() -> [PoolEvent] { state.withLockedValue { Array($0.events.events) } }

    var currentDiscoveryError: String? { discoveryError.withLockedValue { $0 } }

    // MARK: shutdown and statistics

    func drain() {
        stopping.store(true, ordering: .relaxed)
        connects.cancelWaiting()
        let drained = state.withLockedValue { $0.drain() }
        let waiters = drained.waiters
        for connection in drained.close { connection.close(failing: .shuttingDown) }
        for (queued, address) in waiters { queued.waiter.complete(.failure(.unfinished(instance: address))) }
        noteIfIdle()
    }

    var busy: Bool { state.withLockedValue { $0.inFlight > 0 || $0.connecting > 0 } }

    /// Fires once the pool is stopping and nothing is in flight or connecting: what a shutdown waits for, instead
    /// of polling.
    let idle = Latch()

    /// One relaxed load on every finish while the pool runs; the lock only once it is stopping.
    private func noteIfIdle() {
        guard stopping.load(ordering: .relaxed), !idle.isFired, !busy else { return }
        idle.fire()
    }

    /// Closes every connection; what is still in flight on them fails as ``PoolError/unfinished(instance:)``.
    func closeAll() -> [PoolConnection] {
        let all = state.withLockedValue { $0.removeAllConnections() }
        for connection in all { connection.close(failing: .unfinished(instance: connection.address)) }
        return all
    }

    func statistics() -> PoolStatistics {
        let error = currentDiscoveryError
        return state.withLockedValue { $0.statistics(now: .now(), discoveryError: error) }
    }
}

extension PoolCore {
    func sentOnLease(key: InstanceKey) { state.withLockedValue { $0.sentOnLease(key: key) } }
}
