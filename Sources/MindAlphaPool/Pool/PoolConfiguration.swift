import MindAlphaWire
import NIOCore

/// How a pool carries its bytes. The decisions (scheduling, queues, ejection, request IDs) are the same code for
/// both: the pool's state machine.
public enum PoolEngine: Sendable, Hashable, CustomStringConvertible {
    /// SwiftNIO channels on the pool's event loop group: the embeddable default.
    case nio
    /// The direct engine (Linux): `threads` threads, each waiting on its own connections with `epoll`, reading and
    /// writing them without a pipeline or an event-loop hop per request. What `bench` runs on; the event loop group
    /// still runs the pool's timers and the completion of requests that never reached a connection.
    case direct(threads: Int)

    public var description: String {
        switch self {
        case .nio: "nio"
        case let .direct(threads): "direct (\(threads) thread\(threads == 1 ? "" : "s"))"
        }
    }

    /// Whether this platform has the direct engine.
    public static var directAvailable: Bool {
        #if os(Linux)
        true
        #else
        false
        #endif
    }
}

/// How a ``ConnectionPool`` finds instances, how many connections it keeps, and how long it waits.
public struct PoolConfiguration: Sendable {
    /// Where the instances come from.
    public enum Source: Sendable {
        /// Followed for the life of the pool (`MindAlphaDiscovery`'s `.consul(settings, query)` makes one).
        case source(any InstanceSource)
        /// A fixed list (``Instance/init(host:port:serviceID:serviceName:node:tags:checks:consulWeight:balanceFactor:addressFromNode:)``
        /// carries each one's weight).
        case fixed([Instance])
    }

    public var source: Source
    /// Connections kept per instance (the Go client's `MaxConnNumPerAddr`): all opened at start, more on demand
    /// up to this many when none is idle.
    public var maxConnectionsPerInstance: Int
    /// Requests in flight at once on one connection; past it, a request waits (FIFO) for a free slot.
    public var maxInFlightPerConnection: Int
    /// How long a TCP connect may take.
    public var connectTimeout: Duration
    /// Default per-request timeout: a request without an explicit deadline fails after it.
    public var requestTimeout: Duration
    /// The largest response (meta plus body) accepted; a larger announcement closes the connection.
    public var maxFrameSize: Int
    public var algorithm: SchedulingAlgorithm
    public var ejection: EjectionPolicy
    /// How long an answer from discovery that lists no instance at all is held back while the last set stays in
    /// use (a restarted Consul lists its services only once their checks pass again); it applies if it persists.
    public var emptySetGrace: Duration
    /// Connects in progress at once per event loop; more wait their turn (their connect timeout starts then), so
    /// thousands of connections open without timing out on a busy client.
    public var connectsPerEventLoop: Int
    /// What carries the bytes (``PoolEngine/nio`` unless asked).
    public var engine: PoolEngine

    public init(
        source: Source,
        maxConnectionsPerInstance: Int = 30,
        maxInFlightPerConnection: Int = 64,
        connectTimeout: Duration = .seconds(1),
        requestTimeout: Duration = .seconds(1),
        maxFrameSize: Int = FrameParser.defaultMaxFrameSize,
        algorithm: SchedulingAlgorithm = .lvs,
        ejection: EjectionPolicy = EjectionPolicy(),
        emptySetGrace: Duration = .seconds(15),
        connectsPerEventLoop: Int = 64,
        engine: PoolEngine = .nio
    ) {
        precondition(maxConnectionsPerInstance >= 1, "maxConnectionsPerInstance must be at least 1")
        precondition(maxInFlightPerConnection >= 1, "maxInFlightPerConnection must be at least 1")
        self.source = source
        self.maxConnectionsPerInstance = maxConnectionsPerInstance
        self.maxInFlightPerConnection = maxInFlightPerConnection
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.maxFrameSize = maxFrameSize
        self.algorithm = algorithm
        self.ejection = ejection
        self.emptySetGrace = emptySetGrace
        self.connectsPerEventLoop = max(1, connectsPerEventLoop)
        if case let .direct(threads) = engine {
            precondition(PoolEngine.directAvailable, "the direct engine needs Linux (epoll)")
            self.engine = .direct(threads: max(1, threads))
        } else {
            self.engine = engine
        }
    }

    /// What the source is called in messages: the service name, or "fixed targets".
    public var sourceName: String {
        switch source {
        case let .source(source): return source.name
        case .fixed: return "the fixed targets"
        }
    }
}

/// Outlier detection: when an instance is taken out of the schedule, for how long, and how much of the fleet may be
/// out at once; and how reconnects to a failing instance are paced.
///
/// Failures are requests failing as `connect`, `closed`, `protocol` or `timeout`, connections lost with an error,
/// and answers matching no request (duplicates, unknown IDs) — never this client's own limits (`client`), waits for
/// a connection, or error answers. An instance is ejected after `consecutiveFailures` in a row, or when at least
/// `failureRate` of its last 64 outcomes failed (20 at least known): for `baseBackoff`, doubling with each further
/// ejection up to `maxBackoff`; its connections are closed (what was in flight on them fails at once) and its
/// waiting requests go to other instances. When the time is up it is probed with one request at a time: a success
/// brings it back, a failure ejects it again. At most `maxEjectedShare` of the instances are ejected at once (never
/// the whole fleet: past it, the pool keeps sending to every instance, as Envoy's panic threshold does).
///
/// A connection lost or not made delays the next connect to that instance by `reconnectBase`, doubling up to
/// `reconnectMax` (±20 % jitter); one successful response clears it.
public struct EjectionPolicy: Hashable, Sendable {
    public var consecutiveFailures: Int
    public var failureRate: Double
    public var baseBackoff: Duration
    public var maxBackoff: Duration
    public var maxEjectedShare: Double
    public var reconnectBase: Duration
    public var reconnectMax: Duration

    /// `consecutiveFailures` 0 and `failureRate` 0 disable ejection.
    public init(
        consecutiveFailures: Int = 5, failureRate: Double = 0.1, baseBackoff: Duration = .seconds(1),
        maxBackoff: Duration = .seconds(30), maxEjectedShare: Double = 0.5,
        reconnectBase: Duration = .milliseconds(20), reconnectMax: Duration = .seconds(2)
    ) {
        self.consecutiveFailures = consecutiveFailures
        self.failureRate = failureRate
        self.baseBackoff = baseBackoff
        self.maxBackoff = maxBackoff
        self.maxEjectedShare = maxEjectedShare
        self.reconnectBase = reconnectBase
        self.reconnectMax = reconnectMax
    }

    /// No ejection at all (reconnects are still paced).
    public static let disabled = EjectionPolicy(consecutiveFailures: 0, failureRate: 0)

    /// The back-off for the `n`th consecutive ejection (1-based).
    public func backoff(ejection n: Int) -> Duration {
        var d = baseBackoff
        for _ in 1..<max(1, n) where d < maxBackoff { d *= 2 }
        return min(d, maxBackoff)
    }

    /// How many of `instances` may be ejected at once.
    public func maxEjected(of instances: Int) -> Int {
        Int((maxEjectedShare * Double(instances)).rounded(.down))
    }
}
