import NIOCore

/// One open connection of the pool: the channel, and its handler, which may only be touched on the channel's loop.
final class PoolConnection: @unchecked Sendable {
    let id: ConnectionID
    let key: InstanceKey
    let address: String
    let channel: Channel
    let eventLoop: any EventLoop
    /// Touched only on `eventLoop` (every use below checks or hops), which is what makes this class Sendable.
    private let handler: PoolConnectionHandler

    init(id: ConnectionID, key: InstanceKey, address: String, channel: Channel, handler: PoolConnectionHandler) {
        self.id = id
        self.key = key
        self.address = address
        self.channel = channel
        self.eventLoop = channel.eventLoop
        self.handler = handler
    }

    /// Writes a request; on the channel's loop at once when called there (the hot path), else hops to it.
    func send(_ request: PoolRequest, leased: Bool = false) {
        if eventLoop.inEventLoop {
            handler.send(request, leased: leased)
        } else {
            eventLoop.execute { self.handler.send(request, leased: leased) }
        }
    }

    /// Forgets a request in flight (its caller gave up): it fails with `error`, a late answer is counted and dropped.
    func abandon(_ requestID: UInt64, with error: PoolError) {
        eventLoop.execute { self.handler.abandon(requestID, with: error) }
    }

    /// Closes the connection from the pool's side; requests still in flight fail with `error`.
    func close(failing error: PoolError) {
        eventLoop.execute { self.handler.close(failing: error) }
    }
}
