import NIOCore

/// One open connection of the pool: the channel, and its handler, which may only be touched on the channel's loop.
final class PoolConnection: Sendable {
    let id: ConnectionID
    let key: InstanceKey
    let address: String
    let channel: Channel
    private let handler: NIOLoopBound<PoolConnectionHandler>

    init(id: ConnectionID, key: InstanceKey, address: String, channel: Channel, handler: PoolConnectionHandler) {
        self.id = id
        self.key = key
        self.address = address
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
    }

    /// Writes a request; on the channel's loop at once when called there (the hot path), else hops to it.
    func send(_ request: PoolRequest, leased: Bool = false) {
        if channel.eventLoop.inEventLoop {
            handler.value.send(request, leased: leased)
        } else {
            channel.eventLoop.execute { self.handler.value.send(request, leased: leased) }
        }
    }

    /// Forgets a request in flight (its caller gave up): it fails with `error`, a late answer is counted and dropped.
    func abandon(_ requestID: UInt64, with error: PoolError) {
        channel.eventLoop.execute { self.handler.value.abandon(requestID, with: error) }
    }

    /// Closes the connection from the pool's side; requests still in flight fail with `error`.
    func close(failing error: PoolError) {
        channel.eventLoop.execute { self.handler.value.close(failing: error) }
    }
}
