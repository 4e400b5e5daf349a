import NIOCore

/// One open connection of the pool, on either engine: a SwiftNIO channel and its handler, or a direct-engine
/// connection and its loop. Either may only be touched on its own thread; every use below runs there or hops.
final class PoolConnection: @unchecked Sendable {
    enum Transport {
        case nio(Channel, NIOLoopBound<PoolConnectionHandler>)
        #if os(Linux)
        case direct(DirectConnection, DirectClientLoop)
        #endif
    }

    let id: ConnectionID
    let key: InstanceKey
    let address: String
    /// Where promises about this connection are made (its channel's loop; any loop of the pool's group for a direct
    /// connection).
    let eventLoop: any EventLoop
    /// Succeeds once the connection is closed.
    let closed: EventLoopFuture<Void>
    private let transport: Transport

    init(id: ConnectionID, key: InstanceKey, address: String, channel: Channel, handler: PoolConnectionHandler) {
        self.id = id
        self.key = key
        self.address = address
        self.eventLoop = channel.eventLoop
        self.closed = channel.closeFuture
        self.transport = .nio(channel, NIOLoopBound(handler, eventLoop: channel.eventLoop))
    }

    #if os(Linux)
    init(_ connection: DirectConnection, eventLoop: any EventLoop) {
        self.id = connection.id
        self.key = connection.key
        self.address = connection.address
        self.eventLoop = eventLoop
        self.closed = connection.closed.futureResult
        self.transport = .direct(connection, connection.loop)
    }
    #endif

    /// Writes a request; at once when called on the connection's thread (the hot path), else after a hop to it.
    func send(_ request: PoolRequest, leased: Bool = false) {
        switch transport {
        case let .nio(channel, handler):
            if channel.eventLoop.inEventLoop {
                handler.value.send(request, leased: leased)
            } else {
                channel.eventLoop.execute { handler.value.send(request, leased: leased) }
            }
        #if os(Linux)
        case let .direct(connection, loop):
            if loop.inLoop {
                connection.send(request, leased: leased)
            } else {
                loop.send(request, on: connection, leased: leased)
            }
        #endif
        }
    }

    /// Forgets a request in flight (its caller gave up): it fails with `error`, a late answer is counted and dropped.
    func abandon(_ requestID: UInt64, with error: PoolError) {
        switch transport {
        case let .nio(channel, handler): channel.eventLoop.execute { handler.value.abandon(requestID, with: error) }
        #if os(Linux)
        case let .direct(connection, loop): loop.execute { connection.abandon(requestID, with: error) }
        #endif
        }
    }

    /// Closes the connection from the pool's side; requests still in flight fail with `error`.
    func close(failing error: PoolError) {
        switch transport {
        case let .nio(channel, handler): channel.eventLoop.execute { handler.value.close(failing: error) }
        #if os(Linux)
        case let .direct(connection, loop): loop.execute { connection.close(failing: error) }
        #endif
        }
    }
}
