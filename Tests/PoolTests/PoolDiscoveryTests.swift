import ConsulDevAgent
import Logging
import MindAlphaDiscovery
import MindAlphaPool
import MindAlphaServer
import NIOCore
import Synchronization
import TestSupport
import Testing

/// The pool following a Consul service (the in-memory agent on port 0).
@Suite(.timeLimit(.minutes(1))) struct PoolDiscoveryTests {
    typealias F = PoolFixtures

    static func register(_ client: ConsulClient, _ server: ReferenceServer, weight: Int) async throws {
        let port = F.port(server)
        try await client.register(ServiceRegistration(
            id: "ms-\(port)", name: "ms-serving", address: "127.0.0.1", port: port, weight: weight, check: nil))
    }

    static func pool(
        _ agent: ConsulDevAgent, engine: PoolEngine = .nio, logger: Logger = Logger(label: "test")
    ) async throws(PoolError) -> ConnectionPool {
        try await ConnectionPool.start(
            PoolConfiguration(
                source: .consul(ConsulSettings(hostPort: agent.address), HealthQuery(service: "ms-serving")),
                maxConnectionsPerInstance: 2, engine: engine),
            logger: logger)
    }

    static func okByPort(_ pool: ConnectionPool) -> [Int: Int] {
        Dictionary(uniqueKeysWithValues: pool.statistics().instances.map { ($0.instance.port, $0.counters.ok) })
    }

    @Test(arguments: PoolFixtures.engines) func joinsLeavesAndWeightChangesAreFollowedWithoutLosingARequest(_ engine: PoolEngine) async throws {
        let a = try await F.server()
        let b = try await F.server(latency: .milliseconds(300)...(.milliseconds(300)))
        let c = try await F.server()
        try await withDevAgent { agent, client in
            try await Self.register(client, a, weight: 100)
            try await Self.register(client, b, weight: 100)
            let pool = try await Self.pool(agent, engine: engine)
            for _ in 0..<4 { _ = try await pool.send(ByteBuffer(string: "x")) }
            #expect(Self.okByPort(pool) == [F.port(a): 2, F.port(b): 2])

            // A new instance gets connections and traffic.
            try await Self.register(client, c, weight: 100)
            try await F.eventually(pool) { $0.instances.first { $0.instance.port == F.port(c) }?.open == 2 }
            for _ in 0..<6 { _ = try await pool.send(ByteBuffer(string: "x")) }
            #expect(Self.okByPort(pool)[F.port(c)] == 2)

            // A weight change applies from the next pick: 3:1:1 over a full cycle.
            try await Self.register(client, a, weight: 300)
            try await F.eventually(pool) { $0.instances.first { $0.instance.port == F.port(a) }?.instance.weight == 300 }
            let before = Self.okByPort(pool)
            for _ in 0..<10 { _ = try await pool.send(ByteBuffer(string: "x")) }
            let after = Self.okByPort(pool)
            #expect(after[F.port(a)]! - before[F.port(a)]! == 6)

            // B leaves with requests in flight: they finish, nothing new goes to it, then it is gone.
            let inFlight = Task {
                try await withThrowingTaskGroup(of: PoolResponse.self) { tasks in
                    for _ in 0..<10 { tasks.addTask { try await pool.send(ByteBuffer(string: "x")) } }
                    return try await tasks.reduce(into: [String]()) { $0.append($1.instance) }
                }
            }
            try await F.eventually(pool) { $0.instances.first { $0.instance.port == F.port(b) }?.inFlight ?? 0 > 0 }
            try await client.deregister(serviceID: "ms-\(F.port(b))")
            try await F.eventually(pool) { $0.instances.first { $0.instance.port == F.port(b) }?.removed ?? true }
            let sentToB = pool.statistics().instances.first { $0.instance.port == F.port(b) }?.counters.sent
            for _ in 0..<10 { _ = try await pool.send(ByteBuffer(string: "x")) }
            let answered = try await inFlight.value
            #expect(answered.count == 10)
            #expect(answered.contains("127.0.0.1:\(F.port(b))"))
            try await F.eventually(pool) { !$0.instances.contains { $0.instance.port == F.port(b) } }
            #expect(pool.statistics().totals.failed == 0)
            if let sentToB { #expect(b.stats.snapshot.answered == sentToB) }
            await pool.shutdown()
        }
        for server in [a, b, c] { try await server.shutdown() }
    }

    @Test func consulUnreachableAtStartIsAClearError() async throws {
        let port = try await ScriptedServer.closedPort()
        do {
            _ = try await ConnectionPool.start(PoolConfiguration(
                source: .consul(ConsulSettings(hostPort: "127.0.0.1:\(port)"), HealthQuery(service: "ms-serving"))))
            Issue.record("expected a failure")
        } catch {
            guard let error = error as? PoolError, error.kind == .discoveryFailed else { Issue.record("got \(error)"); return }
            #expect(error.description.contains("127.0.0.1:\(port) unreachable"))
        }
    }

    @Test func aServiceWithNoPassingInstanceIsAClearError() async throws {
        try await withDevAgent { agent, _ in
            do {
                _ = try await Self.pool(agent)
                Issue.record("expected a failure")
            } catch {
                #expect("\(error)".contains("no passing instance of ms-serving"))
            }
        }
    }

    @Test func whenConsulGoesAwayThePoolKeepsTheLastSetAndSaysSoOnce() async throws {
        let server = try await F.server()
        let agent = try await ConsulDevAgent.start(host: "127.0.0.1", port: 0)
        let proxy = try await TCPProxy.start(to: agent.port)  // the address stays held: no other server takes it
        let client = try ConsulClient(settings: ConsulSettings(hostPort: agent.address))
        try await Self.register(client, server, weight: 100)
        try await client.shutdown()
        let log = LogCapture()
        let pool = try await ConnectionPool.start(
            PoolConfiguration(source: .consul(ConsulSettings(hostPort: proxy.address), HealthQuery(service: "ms-serving")),
                              maxConnectionsPerInstance: 2),
            logger: Logger(label: "test") { _ in log })
        _ = try await pool.send(ByteBuffer(string: "x"))
        proxy.cut()
        try await agent.shutdown()
        try await F.eventually(pool) { $0.discoveryError != nil }
        // Several retries later (250 ms, 500 ms, 1 s …), requests still flow and the warning was said once.
        try await Task.sleep(for: .seconds(2))
        for _ in 0..<20 { _ = try await pool.send(ByteBuffer(string: "x")) }
        #expect(log.count(containing: "discovery failing") == 1)
        #expect(pool.statistics().instances.count == 1)
        await pool.shutdown()
        await proxy.stop()
        try await server.shutdown()
    }
}

extension PoolDiscoveryTests {
    @Test func consulGoingAwayAndComingBackAreEventsOnceEach() async throws {
        let server = try await F.server()
        let agent = try await ConsulDevAgent.start(host: "127.0.0.1", port: 0)
        let proxy = try await TCPProxy.start(to: agent.port)  // Consul's address stays held through the restart
        let client = try ConsulClient(settings: ConsulSettings(hostPort: agent.address))
        try await Self.register(client, server, weight: 100)
        try await client.shutdown()
        let pool = try await ConnectionPool.start(PoolConfiguration(
            source: .consul(ConsulSettings(hostPort: proxy.address), HealthQuery(service: "ms-serving")), maxConnectionsPerInstance: 2))
        let before = NIODeadline.now()
        proxy.cut()
        try await agent.shutdown()
        try await F.eventually(pool) { $0.discoveryError != nil }
        // Consul comes back: a new agent, the service registered again, behind the same address.
        let back = try await ConsulDevAgent.start(host: "127.0.0.1", port: 0)
        let again = try ConsulClient(settings: ConsulSettings(hostPort: back.address))
        try await Self.register(again, server, weight: 100)
        try await again.shutdown()
        proxy.restore(to: back.port)
        try await F.eventually(pool) { $0.discoveryError == nil }
        let discovery = pool.events().filter { $0.instance == nil }
        #expect(discovery.map(\.kindName) == ["consul_unreachable", "consul_recovered"], "\(discovery)")
        #expect(discovery.allSatisfy { $0.at > before } && discovery[0].at < discovery[1].at)
        #expect(discovery.first?.description.hasPrefix("consul unreachable, keeping the last instance set: ") == true)
        await pool.shutdown()
        await proxy.stop()
        try await back.shutdown()
        try await server.shutdown()
    }
}

/// A log handler that keeps messages, to count them.
final class LogCapture: LogHandler, @unchecked Sendable {
    private let messages = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        messages.withLock { $0.append("\(event.message)") }
    }

    func count(containing text: String) -> Int { messages.withLock { $0.filter { $0.contains(text) }.count } }
}
