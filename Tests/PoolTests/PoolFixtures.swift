import MindAlphaPool
import MindAlphaServer
import MindAlphaWire
import NIOCore
import Testing

/// Servers and pools for the real-socket tests, all on 127.0.0.1 port 0, all stopped after.
enum PoolFixtures {
    static func instance(_ port: Int, weight: Int? = nil) -> Instance {
        Instance(host: "127.0.0.1", port: port, serviceID: "i\(port)", balanceFactor: weight.map(String.init))
    }

    static func server(
        latency: ClosedRange<TimeAmount>? = nil, dropRate: Double = 0
    ) async throws -> ReferenceServer {
        try await ReferenceServer.start(ServerConfiguration(
            listen: [.init(host: "127.0.0.1", port: 0)], latency: latency, dropRate: dropRate, threads: 1,
            drainTimeout: .milliseconds(100)))
    }

    static func port(_ server: ReferenceServer) -> Int { server.addresses[0].port! }

    /// `timeout` only bounds a failing test: a reset or a bad frame is seen in milliseconds, but a loaded 2-core
    /// machine running the suites in parallel once took over 2 s to deliver one (the request timed out instead).
    /// The request timeout is a bound for a failing test only (tests of timeouts give their own): a reset or a
    /// protocol violation comes at once, but the whole suite on 2 cores once held one past 10 s — the test read it
    /// as a timeout — while this test took 15 s in quiet full runs.
    /// Every engine the pool has here: each real-socket test runs on each.
    static let engines: [PoolEngine] = PoolEngine.directAvailable ? [.nio, .direct(threads: 1)] : [.nio]

    static func pool(
        _ engine: PoolEngine, _ instances: [Instance], connections: Int = 2, inFlight: Int = 64, timeout: Duration = .seconds(60),
        maxFrameSize: Int = FrameParser.defaultMaxFrameSize, ejection: EjectionPolicy = EjectionPolicy()
    ) async throws -> ConnectionPool {
        try await ConnectionPool.start(PoolConfiguration(
            source: .fixed(instances), maxConnectionsPerInstance: connections, maxInFlightPerConnection: inFlight,
            requestTimeout: timeout, maxFrameSize: maxFrameSize, ejection: ejection, engine: engine))
    }

    /// Waits until `condition` holds on the pool's statistics (polling), failing the test after `timeout`.
    static func eventually(
        _ pool: ConnectionPool, timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: (PoolStatistics) -> Bool
    ) async throws {
        let end = ContinuousClock.now + timeout
        while !condition(pool.statistics()) {
            if ContinuousClock.now > end {
                // Fail the test here, not at some later step that assumed the condition.
                Issue.record("condition not reached within \(timeout): \(pool.statistics())", sourceLocation: sourceLocation)
                throw ConditionNotReached()
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    struct ConditionNotReached: Error {}

    /// The error a send fails with (recording an issue when it succeeds).
    static func failure(
        _ pool: ConnectionPool, _ body: String = "x", to instance: String? = nil, timeout: Duration? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async -> PoolError? {
        do {
            let response = try await pool.send(ByteBuffer(string: body), to: instance, timeout: timeout)
            Issue.record("expected a failure, got a response from \(response.instance)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }
}
