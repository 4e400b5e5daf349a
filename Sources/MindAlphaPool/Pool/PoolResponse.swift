import NIOCore

/// A response, matched to its request by request ID.
public struct PoolResponse: Sendable {
    public var requestID: UInt64
    /// The response body (`data_size` bytes).
    public var body: ByteBuffer
    /// The instance that answered (`host:port`).
    public var instance: String
    /// A number for the instance that answered, cheaper to key by than ``instance``: the pool gives each instance
    /// it learns of the next number and never gives it to another, so one number is always one address (an address
    /// that leaves and joins again may come back under a new number).
    public var instanceNumber: Int
    /// From the submission of the request to the read of its response (any wait for a connection included), in
    /// nanoseconds.
    public var latencyNanoseconds: Int64
    /// When the answer was read: the clock reading that ended ``latencyNanoseconds``.
    public var answeredAt: NIODeadline

    public var latency: Duration { .nanoseconds(latencyNanoseconds) }
}

/// Receives results on an event loop, for callers that drive load without a task or a promise per request (the
/// engine under `bench`). Called on the event loop of the connection that carried the request; results that never
/// reached a connection (no instance, shutting down, no connection in time) arrive on another event loop of the
/// pool's group, never from inside ``ConnectionPool/submit(_:timeout:sink:tag:)``.
public protocol ResponseSink: AnyObject, Sendable {
    /// `tag` is the value given to ``ConnectionPool/submit(_:timeout:sink:tag:)``.
    func received(_ result: Result<PoolResponse, PoolError>, tag: UInt64)
}
