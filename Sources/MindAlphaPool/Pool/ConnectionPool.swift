import Logging
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
import Synchronization

/// Connections to every instance of a MindAlpha-Serving service, kept per instance and shared by requests,
/// which are spread over the instances by weighted round robin and matched to responses by request ID.
///
/// - Instances come from an ``InstanceSource`` (such as `MindAlphaDiscovery`'s Consul source: new instances get
///   connections and enter the schedule, removed ones leave it at once and close once their requests finish,
///   weights apply on the next pick; when the source fails the last good set stays, and the failure is logged
///   once) or from a fixed list.
/// - Each instance gets ``PoolConfiguration/maxConnectionsPerInstance`` connections at start; a request takes an
///   idle one, or else the least loaded while one more is opened; when all are full it waits, first come first
///   served, until its deadline. Nothing is dialled under the lock.
/// - A connection that fails fails every request in flight on it at once, with an error naming the instance; an
///   instance whose connections keep failing is ejected for a while (``EjectionPolicy``).
///
/// Three ways to send: ``send(_:timeout:)`` (async), ``submit(_:timeout:sink:tag:)`` (results on the event
/// loop, nothing allocated per request: what `bench` drives), and ``checkout(timeout:)``/``PooledConnection``
/// (the Go client's shape: an exclusive connection, given back with ``PooledConnection/checkin(error:)``).
/// Call ``shutdown(deadline:)`` when done.
public final class ConnectionPool: Sendable {
    let core: PoolCore
    private let source: (any InstanceSource)?
    private let watch: NIOLockedValueBox<Task<Void, Never>?>
    private let stopped = Atomic<Bool>(false)
    private let stoppedAll = Latch()

    private init(core: PoolCore, source: (any InstanceSource)?) {
        self.core = core
        self.source = source
        self.watch = NIOLockedValueBox(nil)
    }

    public var configuration: PoolConfiguration { core.configuration }

    /// Resolves the instances and starts connecting to them; returns once the instance set is known (requests sent
    /// before the connections are up wait for them). Throws ``PoolError/discoveryFailed(_:)`` when the source
    /// cannot be asked, ``PoolError/discoveryRefused(_:)`` when asking again will not help, and
    /// ``PoolError/noInstances(_:)`` when there is nothing to connect to.
    public static func start(
        _ configuration: PoolConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "mindalpha.pool")
    ) async throws(PoolError) -> ConnectionPool {
        let core = PoolCore(configuration: configuration, group: eventLoopGroup, logger: logger)
        switch configuration.source {
        case let .fixed(instances):
            guard !instances.isEmpty else { throw .noInstances(configuration.sourceName) }
            let pool = ConnectionPool(core: core, source: nil)
            pool.raiseFileLimit(instances: instances.count)
            core.update(instances)
            return pool
        case let .source(source):
            let pool = ConnectionPool(core: core, source: source)
            let first = eventLoopGroup.any().makePromise(of: InstanceUpdate?.self)
            pool.follow(source, first: first)
            // Cancelling the caller gives the start up: the source's iteration is cancelled with it.
            let update = await withTaskCancellationHandler {
                try? await first.futureResult.get()
            } onCancel: {
                pool.watch.withLockedValue { $0?.cancel() }
            }
            if Task.isCancelled {
                await pool.stopFollowing()
                throw .cancelled
            }
            switch update {
            case let .instances(instances)? where !instances.isEmpty:
                pool.raiseFileLimit(instances: instances.count)
                core.update(instances)
                return pool
            case let .failed(reason, refused)?:
                await pool.stopFollowing()
                throw refused ? .discoveryRefused(reason) : .discoveryFailed(reason)
            default:
                await pool.stopFollowing()
                throw .noInstances(configuration.sourceName)
            }
        }
    }

    private func raiseFileLimit(instances: Int) {
        let needed = instances * configuration.maxConnectionsPerInstance + 64
        let limit = FileLimit.raise(to: needed)
        if limit < needed {
            core.logger.warning(
                "open-file limit too low for the connections asked for; some connects will fail",
                metadata: ["limit": "\(limit)", "needed": "\(needed)", "fix": "raise the hard limit (ulimit -Hn) or lower the connections per instance"])
        }
    }

    /// Iterates the source: its first update goes to `first` (which `start` waits for), the later ones to the core.
    private func follow(_ source: any InstanceSource, first: EventLoopPromise<InstanceUpdate?>) {
        let core = self.core
        let task = Task {
            var started = false
            for await update in source.updates() {
                guard started else {
                    started = true
                    first.succeed(update)
                    if case .instances = update { continue }
                    break
                }
                switch update {
                case let .instances(instances):
                    core.update(instances)
                case let .failed(error, _):
                    if core.currentDiscoveryError == nil {
                        core.logger.warning("discovery failing; keeping the last good instance set until it answers again",
                                            metadata: ["error": "\(error)"])
                    }
                    core.discoveryFailed(error)
                case .recovered:
                    core.logger.notice("discovery recovered")
                    core.discoveryFailed(nil)
                }
            }
            if !started { first.succeed(nil) }
        }
        watch.withLockedValue { $0 = task }
    }

    /// Cancels the iteration of the source, waits for it, and lets the source release what it holds.
    private func stopFollowing() async {
        let task = watch.withLockedValue { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
        await source?.shutdown()
    }

    // MARK: sending

    /// Sends `body` to the next instance and returns its response. `timeout` (default: the configuration's) covers
    /// the wait for a connection and for the response. Cancelling the task fails the request with
    /// ``PoolError/cancelled`` at once; a response that comes later is counted as late and dropped.
    ///
    /// `instance` (`host:port`, as in ``PoolStatistics``) sends to that instance instead of the scheduler's pick.
    public func send(_ body: ByteBuffer, to instance: String? = nil, timeout: Duration? = nil) async throws(PoolError) -> PoolResponse {
        let promise = core.group.any().makePromise(of: PoolResponse.self)
        let ticket = RequestTicket()
        let request = core.request(body, timeout: timeout, completion: .promise(promise, ticket), pinned: instance)
        do {
            return try await withTaskCancellationHandler {
                core.submit(request)
                return try await promise.futureResult.get()
            } onCancel: {
                core.cancel(request, ticket: ticket)
            }
        } catch let error as PoolError {
            throw error
        } catch {
            throw .connectionClosed(instance: "?", reason: "\(error)")
        }
    }

    /// Sends `body` to the next instance; the result goes to `sink` with `tag`, on an event loop. The path for
    /// load generators: no task, promise or allocation per request once the connections are warm.
    public func submit(_ body: ByteBuffer, timeout: Duration? = nil, sink: any ResponseSink, tag: UInt64) {
        let request = core.request(body, timeout: timeout, completion: .sink(sink, tag))
        core.submit(request, now: request.submittedAt)
    }

    /// Checks out a connection of the next instance for exclusive use, waiting (FIFO) up to `timeout` for an idle
    /// one. Give it back with ``PooledConnection/checkin(error:)``.
    public func checkout(timeout: Duration? = nil) async throws(PoolError) -> PooledConnection {
        let promise = core.group.any().makePromise(of: PoolConnection.self)
        let request = core.request(ByteBuffer(), timeout: timeout, completion: .checkout(promise))
        core.submit(request)
        do {
            return PooledConnection(connection: try await promise.futureResult.get(), core: core)
        } catch let error as PoolError {
            throw error
        } catch {
            throw .shuttingDown
        }
    }

    /// Calls `tick` at once, then whenever the deadline it returns comes, until it returns `nil` — on the thread that
    /// carries the connections (the direct engine's first loop; an event loop of the group on SwiftNIO), so that
    /// what it submits goes out without a hop between threads. What an open loop's clock runs on.
    public func run(every tick: @escaping @Sendable () -> NIODeadline?) { core.run(every: tick) }

    // MARK: statistics and shutdown

    /// Per instance: connections open, idle, busy and connecting, requests in flight and waiting, counters, ejection.
    public func statistics() -> PoolStatistics { core.statistics() }

    /// What happened to the fleet since the pool started, oldest first (the most recent 10,000): instances that
    /// joined, left or were re-weighted, ejections and returns, discovery outages and recoveries.
    public func events() -> [PoolEvent] { core.events() }

    /// Waits until no connect is in progress (every connection the pool is opening is up or has failed), as long
    /// as connects keep finishing: it gives up after `timeout` without one (thousands of connections, opened a few
    /// dozen at a time, take longer than one connect timeout). Returns whether all finished; returns early, with
    /// `false`, when the task is cancelled.
    @discardableResult
    public func waitUntilConnected(timeout: Duration) async -> Bool {
        var finished = core.connectsFinished
        while !Task.isCancelled {
            if await core.whenConnected().wait(timeout: timeout) { return true }
            let now = core.connectsFinished
            if now == finished { return false }
            finished = now
        }
        return false
    }

    /// Stops taking requests (new ones fail with ``PoolError/shuttingDown``, waiting ones too), lets the ones in
    /// flight finish for up to `deadline`, then closes every connection (what is still in flight fails as
    /// ``PoolError/unfinished(instance:)``) and stops following discovery. Returns when all of that is done; safe to
    /// call more than once and from several tasks (later calls wait for the first).
    public func shutdown(deadline: Duration = .seconds(10)) async {
        guard !stopped.exchange(true, ordering: .relaxed) else {
            await stoppedAll.wait()
            return
        }
        defer { stoppedAll.fire() }
        watch.withLockedValue { $0?.cancel() }
        core.drain()
        _ = await core.idle.wait(timeout: deadline)
        for connection in core.closeAll() {
            try? await connection.closed.get()
        }
        #if os(Linux)
        await core.direct?.shutdown()
        #endif
        await stopFollowing()
    }
}
