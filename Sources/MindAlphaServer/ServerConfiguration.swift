import MindAlphaWire
import NIOCore

/// What the reference server listens on, answers, and injects.
public struct ServerConfiguration: Sendable {
    /// Where to listen; port 0 picks a free port.
    public var listen: [HostPort]
    /// Body size for answers to bodies that are not a FlatBuffers `Request`; at least 1 (docs/protocol.md §1.3).
    public var responseSize: Int {
        didSet { precondition(responseSize >= 1, "responseSize must be at least 1") }
    }
    /// Delay before each answer: a fixed value, or uniform between the bounds. `nil` answers at once.
    public var latency: ClosedRange<TimeAmount>?
    /// Share of requests answered with a `Response` carrying `debug_info` and no scores.
    public var errorRate: Double
    /// Share of requests never answered.
    public var dropRate: Double
    /// Share of requests on which the connection is closed instead of answered.
    public var closeRate: Double
    /// The largest request (meta plus body) accepted; a larger one closes the connection.
    public var maxFrameSize: Int
    /// Event-loop threads; defaults to the cores this process may run on.
    public var threads: Int
    /// How long shutdown waits for answers still being prepared.
    public var drainTimeout: TimeAmount
    /// Which engine reads and answers.
    public var engine: Engine = .automatic

    /// How requests are read and answered.
    public enum Engine: String, Sendable, CaseIterable {
        /// The direct engine when it can (Linux, nothing injected), else SwiftNIO.
        case automatic = "auto"
        /// SwiftNIO: a channel pipeline per connection; everything, fault injection included.
        case nio
        /// Per thread one epoll loop owning its connections, answering in place (Linux; no fault injection).
        case direct
    }

    /// Whether the direct engine answers.
    var usesDirectEngine: Bool {
        #if os(Linux)
        switch engine {
        case .automatic: return !injects
        case .nio: return false
        case .direct: return true
        }
        #else
        return false
        #endif
    }

    public init(
        listen: [HostPort],
        responseSize: Int = 64,
        latency: ClosedRange<TimeAmount>? = nil,
        errorRate: Double = 0,
        dropRate: Double = 0,
        closeRate: Double = 0,
        maxFrameSize: Int = FrameParser.defaultMaxFrameSize,
        threads: Int = System.coreCount,
        drainTimeout: TimeAmount = .seconds(5)
    ) {
        precondition(responseSize >= 1, "responseSize must be at least 1")
        precondition(threads >= 1, "threads must be at least 1")
        self.listen = listen
        self.responseSize = responseSize
        self.latency = latency
        self.errorRate = errorRate
        self.dropRate = dropRate
        self.closeRate = closeRate
        self.maxFrameSize = maxFrameSize
        self.threads = threads
        self.drainTimeout = drainTimeout
    }

    /// Whether any fault or delay is injected (the fast path answers inline otherwise).
    public var injects: Bool { latency != nil || errorRate > 0 || dropRate > 0 || closeRate > 0 }
}
