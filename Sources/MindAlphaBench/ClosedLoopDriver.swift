import MindAlphaPool
import NIOCore
import Synchronization

/// Keeps a fixed number of requests in flight through a pool: each response (or failure) sends the next request,
/// from the event loop that received it. No task, promise or allocation per request.
public final class ClosedLoopDriver: ResponseSink {
    private let pool: ConnectionPool
    private let body: ByteBuffer
    private let timeout: Duration?
    private let running = Atomic<Bool>(false)
    private let succeeded = Atomic<Int>(0)
    private let failedCount = Atomic<Int>(0)

    public init(pool: ConnectionPool, body: ByteBuffer, timeout: Duration? = nil) {
        self.pool = pool
        self.body = body
        self.timeout = timeout
    }

    /// Starts `concurrency` request chains.
    public func start(concurrency: Int) {
        running.store(true, ordering: .relaxed)
        for tag in 0..<concurrency { pool.submit(body, timeout: timeout, sink: self, tag: UInt64(tag)) }
    }

    /// Stops sending; requests in flight still complete.
    public func stop() { running.store(false, ordering: .relaxed) }

    /// Responses and failures so far.
    public var counts: (ok: Int, failed: Int) {
        (succeeded.load(ordering: .relaxed), failedCount.load(ordering: .relaxed))
    }

    public func received(_ result: Result<PoolResponse, PoolError>, tag: UInt64) {
        switch result {
        case .success: succeeded.add(1, ordering: .relaxed)
        case .failure: failedCount.add(1, ordering: .relaxed)
        }
        if running.load(ordering: .relaxed) { pool.submit(body, timeout: timeout, sink: self, tag: tag) }
    }
}
