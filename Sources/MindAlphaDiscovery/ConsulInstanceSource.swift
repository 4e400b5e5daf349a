import Logging
import MindAlphaPool
import NIOConcurrencyHelpers

/// A Consul service as a pool's ``InstanceSource``: the passing instances of one health query, followed with
/// blocking queries (``ConsulClient/watch(_:wait:)``) for the pool's life, over one long-lived HTTP client.
public final class ConsulInstanceSource: InstanceSource {
    public let settings: ConsulSettings
    public let query: HealthQuery
    private let logger: Logger
    /// Made when the pool first asks for updates: a source that is never started holds no HTTP client (one that is
    /// never shut down traps when it is released).
    private let client = NIOLockedValueBox<Result<ConsulClient, ConsulError>?>(nil)

    public init(settings: ConsulSettings, query: HealthQuery, logger: Logger = Logger(label: "mindalpha.consul")) {
        self.settings = settings
        self.query = query
        self.logger = logger
    }

    public var name: String { query.service }

    /// First one query that does not block: its instances, or why there are none (an empty first answer is a
    /// failure: a pool cannot start on it); then the watch's sets, failures and recoveries.
    public func updates() -> AsyncStream<InstanceUpdate> {
        let client: ConsulClient
        let made = self.client.withLockedValue { c in
            if c == nil { c = Result { () throws(ConsulError) in try ConsulClient(settings: settings, logger: logger) } }
            return c!
        }
        switch made {
        case let .success(c): client = c
        case let .failure(error): return AsyncStream { $0.yield(.failed("\(error)", refused: true)); $0.finish() }
        }
        let (query, address) = (self.query, settings.hostPort)
        return AsyncStream { continuation in
            let task = Task {
                var once = query
                once.index = nil
                let first: HealthResult
                do throws(ConsulError) {
                    first = try await client.health(once)
                } catch {
                    continuation.yield(.failed("\(error)", refused: !error.isUnreachable))
                    continuation.finish()
                    return
                }
                guard !first.instances.isEmpty else {
                    continuation.yield(.failed("consul at \(address) has no passing instance of \(query.service)", refused: false))
                    continuation.finish()
                    return
                }
                continuation.yield(.instances(first.instances))
                for await event in client.watch(query, after: first) {
                    switch event {
                    case let .initial(instances, _), let .changed(_, instances, _): continuation.yield(.instances(instances))
                    case let .failed(error, _): continuation.yield(.failed("\(error)", refused: false))
                    case .recovered: continuation.yield(.recovered)
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func shutdown() async {
        if case let .success(client)? = client.withLockedValue({ $0 }) { try? await client.shutdown() }
    }
}

extension PoolConfiguration.Source {
    /// A Consul service, followed with blocking queries for the life of the pool.
    public static func consul(_ settings: ConsulSettings, _ query: HealthQuery) -> Self {
        .source(ConsulInstanceSource(settings: settings, query: query))
    }
}
