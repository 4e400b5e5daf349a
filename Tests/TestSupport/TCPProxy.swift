import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP relay on 127.0.0.1 port 0 to another loopback port, that a test can cut and restore: an outage (or a
/// restart onto another port) behind an address that stays the same and stays held, so no parallel test's server
/// can take it meanwhile.
public final class TCPProxy: Sendable {
    public let port: Int
    private let listener: Channel
    private let state: NIOLockedValueBox<State>

    private struct State {
        var target: Int?
        var open: [ObjectIdentifier: Channel] = [:]
        var accepted = 0
    }

    private init(port: Int, listener: Channel, state: NIOLockedValueBox<State>) {
        self.port = port
        self.listener = listener
        self.state = state
    }

    /// Starts relaying to `target` (a port on 127.0.0.1).
    public static func start(to target: Int) async throws -> TCPProxy {
        let state = NIOLockedValueBox(State(target: target))
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                guard let target = state.withLockedValue({ s -> Int? in
                    s.accepted += 1
                    return s.target
                }) else {
                    // Cut: the connection is closed as soon as it is accepted.
                    return inbound.close()
                }
                return ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: "127.0.0.1", port: target)
                    .flatMap { outbound in
                        state.withLockedValue {
                            $0.open[ObjectIdentifier(inbound)] = inbound
                            $0.open[ObjectIdentifier(outbound)] = outbound
                        }
                        let remove: @Sendable (Channel) -> Void = { channel in
                            _ = state.withLockedValue { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
                        }
                        inbound.closeFuture.whenComplete { _ in remove(inbound) }
                        outbound.closeFuture.whenComplete { _ in remove(outbound) }
                        return inbound.pipeline.addHandler(Relay(peer: outbound))
                            .flatMap { outbound.pipeline.addHandler(Relay(peer: inbound)) }
                            .flatMap { inbound.setOption(.autoRead, value: true) }
                    }
                    .flatMapError { _ in inbound.close() }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TCPProxy(port: listener.localAddress!.port!, listener: listener, state: state)
    }

    public var address: String { "127.0.0.1:\(port)" }

    /// Connections accepted so far (cut or relayed).
    public var connections: Int { state.withLockedValue { $0.accepted } }

    /// An outage: every relayed connection is closed, and new ones are closed as soon as they are accepted.
    public func cut() {
        let open = state.withLockedValue { s -> [Channel] in
            s.target = nil
            defer { s.open = [:] }
            return Array(s.open.values)
        }
        for channel in open { channel.close(promise: nil) }
    }

    /// Relays new connections to `target` again (the same port, or a restarted server's).
    public func restore(to target: Int) {
        state.withLockedValue { $0.target = target }
    }

    public func stop() async {
        cut()
        try? await listener.close()
    }

    private final class Relay: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let peer: Channel

        init(peer: Channel) { self.peer = peer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            peer.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            context.close(promise: nil)
        }
    }
}
