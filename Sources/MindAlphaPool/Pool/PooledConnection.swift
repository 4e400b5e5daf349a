import NIOCore

/// A connection checked out of the pool for exclusive use: the Go client's `Get`/`Put` shape.
public struct PooledConnection: Sendable {
    let connection: PoolConnection
    let core: PoolCore

    /// The instance it is connected to.
    public var instance: String { connection.address }
    public var id: ConnectionID { connection.id }

    /// Writes a request, registers its ID and waits for the matching response (up to `timeout`).
    public func send(_ body: ByteBuffer, timeout: Duration? = nil) async throws(PoolError) -> PoolResponse {
        let promise = connection.eventLoop.makePromise(of: PoolResponse.self)
        core.sentOnLease(key: connection.key)
        connection.send(core.request(body, timeout: timeout, completion: .promise(promise, nil)), leased: true)
        do {
            return try await promise.futureResult.get()
        } catch let error as PoolError {
            throw error
        } catch {
            throw .connectionClosed(instance: instance, reason: "\(error)")
        }
    }

    /// Gives the connection back. An error that makes the connection unusable (``PoolError/closesConnection``)
    /// closes it; any other error, or none, returns it for others.
    public func checkin(error: PoolError? = nil) {
        if let error, error.closesConnection {
            connection.close(failing: error)
        } else {
            core.checkedIn(connection)
        }
    }
}
