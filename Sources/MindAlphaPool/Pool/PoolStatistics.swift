/// Requests counted per instance: sent, answered, failed by class, and answers that matched no request in flight.
public struct RequestCounters: Hashable, Sendable {
    public var sent = 0
    public var ok = 0
    /// Failures per ``PoolError/Class``; read with the subscript.
    private var failures = [Int](repeating: 0, count: PoolError.Class.allCases.count)
    /// Responses that arrived after their request timed out (counted and dropped).
    public var late = 0
    /// Responses carrying an ID already answered on that connection (counted and dropped).
    public var duplicate = 0
    /// Responses carrying an ID that was never in flight on that connection (counted and dropped).
    public var unknown = 0

    public init() {}

    public subscript(_ errorClass: PoolError.Class) -> Int {
        get { failures[Self.slot(errorClass)] }
        set { failures[Self.slot(errorClass)] = newValue }
    }

    /// All failures.
    public var failed: Int { failures.reduce(0, +) }

    /// The non-zero failure counts, by class.
    public var failedByClass: [PoolError.Class: Int] {
        var result: [PoolError.Class: Int] = [:]
        for c in PoolError.Class.allCases where self[c] > 0 { result[c] = self[c] }
        return result
    }

    public static func += (a: inout RequestCounters, b: RequestCounters) {
        a.sent += b.sent
        a.ok += b.ok
        a.late += b.late
        a.duplicate += b.duplicate
        a.unknown += b.unknown
        for i in a.failures.indices { a.failures[i] += b.failures[i] }
    }

    private static func slot(_ c: PoolError.Class) -> Int {
        switch c {
        case .connect: 0
        case .closed: 1
        case .protocol: 2
        case .timeout: 3
        case .unavailable: 4
        case .cancelled: 5
        case .shutdown: 6
        case .client: 7
        }
    }
}

/// Connects to one instance: made, failed, and failed on this client's own limits (too many open files, no local
/// port left), with the first such failure's words.
public struct ConnectCounters: Hashable, Sendable {
    public var opened = 0
    public var failed = 0
    public var clientLimited = 0
    public var firstClientLimit: String?

    public init() {}

    public static func += (a: inout ConnectCounters, b: ConnectCounters) {
        a.opened += b.opened
        a.failed += b.failed
        a.clientLimited += b.clientLimited
        a.firstClientLimit = a.firstClientLimit ?? b.firstClientLimit
    }
}

/// A point-in-time view of the pool, cheap enough to take every 100 ms.
public struct PoolStatistics: Hashable, Sendable {
    /// One instance (including one that left discovery and still has requests in flight).
    public struct InstanceStatistics: Hashable, Sendable {
        public var instance: Instance
        /// Open connections: `idle + busy`.
        public var open: Int
        /// Open connections with nothing in flight and not checked out.
        public var idle: Int
        /// Open connections with requests in flight or checked out.
        public var busy: Int
        /// Connects in progress.
        public var connecting: Int
        public var inFlight: Int
        /// Requests waiting for a connection to this instance.
        public var waiting: Int
        public var counters: RequestCounters
        public var connects: ConnectCounters
        /// Whether the instance is out of the schedule after failures (outlier detection), and for how much longer.
        public var ejectedFor: Duration?
        /// Whether it is back on probation after an ejection: one request at a time until one succeeds.
        public var probing: Bool
        /// Whether the instance left discovery (it stays listed until its last request finishes).
        public var removed: Bool
    }

    /// In schedule order (weight, then address), removed instances last.
    public var instances: [InstanceStatistics]
    /// Requests that failed before an instance was picked (no instance, all ejected, shutting down).
    public var unplaced: RequestCounters
    /// Whether discovery is currently failing (the last good set is in use), with its error.
    public var discoveryError: String?
    /// Whether the pool is shutting down: new requests are refused, those in flight finish.
    public var draining = false

    public var totals: RequestCounters {
        var t = unplaced
        for i in instances { t += i.counters }
        return t
    }

    public var inFlight: Int { instances.reduce(0) { $0 + $1.inFlight } }
    public var connects: ConnectCounters { instances.reduce(into: ConnectCounters()) { $0 += $1.connects } }
    public var openConnections: Int { instances.reduce(0) { $0 + $1.open } }
}
