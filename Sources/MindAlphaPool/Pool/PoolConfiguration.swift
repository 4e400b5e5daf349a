import MindAlphaWire
import NIOCore

/// How a ``ConnectionPool`` finds instances, how many connections it keeps, and how long it waits.
public struct PoolConfiguration: Sendable {
    /// Where the instances come from.
    public enum Source: Sendable {
        /// A Consul service, followed with blocking queries for the life of the pool.
        case consul(ConsulSettings, HealthQuery)
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

    public init(
        source: Source,
        maxConnectionsPerInstance: Int = 30,
        maxInFlightPerConnection: Int = 64,
        connectTimeout: Duration = .seconds(1),
        requestTimeout: Duration = .seconds(1),
        maxFrameSize: Int = FrameParser.defaultMaxFrameSize,
        algorithm: SchedulingAlgorithm = .lvs,
        ejection: EjectionPolicy = EjectionPolicy()
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
    }

    /// What the source is called in messages: the service name, or "fixed targets".
    public var sourceName: String {
        switch source {
        case let .consul(_, query): return query.service
        case .fixed: return "the fixed targets"
        }
    }
}

/// When an instance is taken out of the schedule after connection failures, and for how long.
///
/// Connection failures are failed connects and connections lost to a reset, EOF or protocol violation; timeouts
/// and error answers are not (a slow instance stays in the schedule, so a load test shows it). After `threshold`
/// consecutive connection failures with no successful response between them, the instance is ejected for
/// `baseBackoff`, doubling with each further ejection up to `maxBackoff`; when the time is up it is picked again,
/// and one successful response clears its record.
public struct EjectionPolicy: Hashable, Sendable {
    public var threshold: Int
    public var baseBackoff: Duration
    public var maxBackoff: Duration

    /// `threshold` 0 disables ejection.
    public init(threshold: Int = 3, baseBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(30)) {
        self.threshold = threshold
        self.baseBackoff = baseBackoff
        self.maxBackoff = maxBackoff
    }

    /// The back-off for the `n`th consecutive ejection (1-based).
    public func backoff(ejection n: Int) -> Duration {
        var d = baseBackoff
        for _ in 1..<max(1, n) where d < maxBackoff { d *= 2 }
        return min(d, maxBackoff)
    }
}
