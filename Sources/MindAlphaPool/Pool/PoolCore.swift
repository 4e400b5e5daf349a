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
    /// Each instance queue's deadline timer by its deadline (one, but for a moment two while one is replaced).
    private let queueTimers = NIOLockedValueBox<[InstanceKey: [NIODeadline: Scheduled<Void>]]>([:])

    /// Connects finished so far (either way): how a wait for them tells progress from a stall.
    var connectsFinished: Int { finishedConnects.load(ordering: .relaxed) }
    #if os(Linux)
    /// The direct engine's loops, when the configuration asks for it.
    let direct: DirectEngine?
    #endif
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
        #if os(Linux)
        if case let .direct(threads) = configuration.engine {
            direct = DirectEngine(threads: threads)
            loops = threads
        } else {
            direct = nil
        }
        #endif
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

    /// Sends a request (or serves a checkout): now, after a wait in its instance's queue, or fails it. `now`: the
    /// clock, when the caller has just read it (a new request's ``PoolRequest/submittedAt``).
    func submit(_ request: PoolRequest, now: NIODeadline? = nil) {
        let now = now ?? .now()
        let action = state.withLockedValue {
            $0.pick(request, id: request.id, lease: request.isCheckout, pinned: request.pinned, now: now,
                    deadline: request.deadline, timeout: Duration(request.timeout))
        }
        // Connects and an ejection first, as decided; the request itself is handled here, where it is at hand
        // (passing it on would copy it).
        if let effects = action.effects { apply(effects) }
        switch action.request {
        case .none: break
        case let .send(connection, _, _): dispatch(request, on: connection)
        case let .queued(key): if case let .promise(_, ticket?) = request.completion { ticket.queued(key) }
        case let .fail(error): group.any().execute { request.complete(.failure(error)) }
        }
    }

    /// Carries out what the state machine decided, after its lock was released: the one place that does (a pick's
    /// own request aside, which ``submit(_:)`` handles).
    private func apply(_ action: State.Action) {
        if let effects = action.effects { apply(effects) }
        switch action.serve {
        case .none: break
        case let .one(connection, _, queued): dispatch(queued.waiter, on: connection)
        case let .all(connection, queued): for q in queued { dispatch(q.waiter, on: connection) }
        }
    }

    private func apply(_ effects: State.Action.Effects) {
        if let address = effects.ejected {
            logger.notice("instance ejected by outlier detection", metadata: ["instance": "\(address)"])
        }
        for (connection, error) in effects.close { connection.close(failing: error) }
        for dial in effects.dials { self.dial(dial) }
        switch effects.timer {
        case .none: break
        case let .armQueue(key, at, replacing):
            if let replacing { cancelQueueTimer(key, at: replacing) }
            armQueueTimer(key, at: at)
        case let .cancelQueue(key, at): cancelQueueTimer(key, at: at)
        case .cancelAll:
            for timers in queueTimers.withLockedValue({ t in defer { t = [:] }; return t.values }) {
                for task in timers.values { task.cancel() }
            }
        case let .emptySet(at):
            // An empty set held back: it applies then, if nothing else came meanwhile.
            group.any().scheduleTask(deadline: at) { [self] in apply(state.withLockedValue { $0.applyHeldBackEmptySet(now: .now()) }) }
        }
        for (queued, error) in effects.fail { queued.waiter.complete(.failure(error)) }
        for queued in effects.repick { submit(queued.waiter) }
        if effects.shutdownComplete { idle.fire() }
    }

    /// One timer per instance queue, for its earliest deadline (armed again replaces it); what waits past its
    /// deadline fails as ``PoolError/noConnection(instance:after:)``.
    private func armQueueTimer(_ key: InstanceKey, at deadline: NIODeadline) {
        let task = group.any().scheduleTask(deadline: deadline) { [self] in
            queueTimers.withLockedValue { _ = $0[key]?.removeValue(forKey: deadline) }
            apply(state.withLockedValue { $0.expireQueue(key, timer: deadline, now: .now()) })
        }
        // A timer that fired before it was stored leaves an entry that a later cancel removes (harmlessly).
        queueTimers.withLockedValue { $0[key, default: [:]][deadline] = task }
    }

    private func cancelQueueTimer(_ key: InstanceKey, at deadline: NIODeadline) {
        queueTimers.withLockedValue { timers -> Scheduled<Void>? in
            defer { if timers[key]?.isEmpty == true { timers[key] = nil } }
            return timers[key]?.removeValue(forKey: deadline)
        }?.cancel()
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
            apply(state.withLockedValue { $0.cancel(id: request.id, key: key) })
        case let .sent(connection):
            connection.abandon(request.id, with: .cancelled)
        case .new, .cancelled:
            break
        }
    }

    /// A request on `id` finished; its slot may go to a waiter.
    func finished(_ id: ConnectionID, key: InstanceKey, error: PoolError.Class?) {
        apply(state.withLockedValue { $0.finished(id, key: key, error: error) })
    }

    /// A checked-out connection came back.
    func checkedIn(_ connection: PoolConnection) {
        apply(state.withLockedValue { $0.finished(connection.id, key: connection.key, error: nil, lease: true) })
    }

    func countLeased(key: InstanceKey, error: PoolError.Class?) {
        apply(state.withLockedValue { $0.countLeased(key: key, error: error, now: .now()) })
    }

    func noteLate(key: InstanceKey) { state.withLockedValue { $0.noteLate(key: key) } }

    func noteDuplicate(key: InstanceKey) { apply(state.withLockedValue { $0.noteDuplicate(key: key, now: .now()) }) }

    func noteUnknown(key: InstanceKey) { apply(state.withLockedValue { $0.noteUnknown(key: key, now: .now()) }) }

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
        #if os(Linux)
        if let direct {
            let loop = direct.next()
            loop.execute { [self] in
                DirectConnection.connect(on: loop, core: self, id: id, key: key, instance: instance) { [self] result in
                    connectFinished(key: key, result.map { PoolConnection($0, eventLoop: group.any()) })
                }
            }
            return
        }
        #endif
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
                switch result {
                case let .success(channel):
                    guard channel.isActive,
                          let handler = try? channel.pipeline.syncOperations.handler(type: PoolConnectionHandler.self)
                    else {
                        connectFinished(key: key, .failure(.connectFailed(instance: instance.address, reason: "closed while connecting")))
                        return
                    }
                    connectFinished(key: key, .success(PoolConnection(id: id, key: key, address: instance.address, channel: channel, handler: handler)))
                case let .failure(error):
                    if let limit = SocketErrorText.clientLimit(error) {
                        connectFinished(key: key, .failure(.clientLimit(instance: instance.address, reason: limit)))
                    } else {
                        connectFinished(key: key, .failure(.connectFailed(instance: instance.address, reason: Self.describe(connectError: error))))
                    }
                }
            }
    }

    /// A connect ended, on either engine: the next connect waiting for the budget starts, and the state machine hears
    /// how it went.
    private func connectFinished(key: InstanceKey, _ result: Result<PoolConnection, PoolError>) {
        connects.done()
        finishedConnects.add(1, ordering: .relaxed)
        switch result {
        case let .success(connection): connected(connection)
        case let .failure(error): connectFailed(key: key, error: error)
        }
    }

    private func connected(_ connection: PoolConnection) {
        apply(state.withLockedValue { $0.connected(connection.id, key: connection.key, connection: connection) })
        notifyIfConnected()
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
        apply(state.withLockedValue { $0.connectFailed(key: key, error: error, now: .now()) })
        notifyIfConnected()
    }

    /// A connection closed; `error` when it failed rather than being closed by the pool.
    func closed(_ id: ConnectionID, key: InstanceKey, error: PoolError?) {
        apply(state.withLockedValue { $0.closed(id, key: key, error: error, now: .now()) })
    }

    static func describe(connectError error: any Error) -> String {
        if let e = error as? ChannelError, case let .connectTimeout(t) = e {
            return "connect timed out after \(formatDuration(Duration(t)))"
        }
        return SocketErrorText.describe(error)
    }

    /// See ``ConnectionPool/run(every:)``.
    func run(every tick: @escaping @Sendable () -> NIODeadline?) {
        #if os(Linux)
        if let direct {
            direct.loops[0].run(every: tick)
            return
        }
        #endif
        let loop = group.next()
        @Sendable func step() {
            guard let next = tick() else { return }
            loop.scheduleTask(deadline: next) { step() }
        }
        loop.execute { step() }
    }

    // MARK: discovery

    func update(_ instances: [Instance]) {
        apply(state.withLockedValue { $0.update(instances, now: .now()) })
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

    /// Stops new requests; ``idle`` fires once nothing is in flight or connecting.
    func drain() {
        stopping.store(true, ordering: .relaxed)
        connects.cancelWaiting()
        apply(state.withLockedValue { $0.drain() })
    }

    /// Fires once the pool drains and nothing is in flight or connecting (the state machine says when): what a
    /// shutdown waits for, instead of polling.
    let idle = Latch()

    /// Closes every connection; what is still in flight on them fails as ``PoolError/unfinished(instance:)``.
    func closeAll() -> [PoolConnection] {
        let action = state.withLockedValue { $0.removeAllConnections() }
        apply(action)
        return action.close.map(\.0)
    }

    func statistics() -> PoolStatistics {
        let error = currentDiscoveryError
        return state.withLockedValue { $0.statistics(now: .now(), discoveryError: error) }
    }
}

extension PoolCore {
    func sentOnLease(key: InstanceKey) { state.withLockedValue { $0.sentOnLease(key: key) } }
}
