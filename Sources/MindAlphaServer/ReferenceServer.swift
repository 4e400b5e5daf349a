import Logging
import MindAlphaWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A MindAlpha-Serving-compatible server for tests, demos and load runs: it answers every request frame,
/// scores FlatBuffers `Request`s deterministically, and injects latency, errors, drops and closes on demand.
///
/// ```swift
/// let server = try await ReferenceServer.start(.init(listen: [.init(host: "127.0.0.1", port: 0)]))
/// print(server.addresses)          // the ports actually bound
/// try await server.shutdown()
/// ```
public final class ReferenceServer: Sendable {
    /// The configuration it was started with.
    public let configuration: ServerConfiguration
    /// The addresses bound, in the order of ``ServerConfiguration/listen``.
    public let addresses: [SocketAddress]
    /// Live counters.
    public let stats: ServerStats

    private let engine: Engine
    private let logger: Logger
    private let state = NIOLockedValueBox(State.running)

    private enum State { case running, stopping, stopped }

    private enum Engine {
        case nio(group: MultiThreadedEventLoopGroup, listeners: [Channel], connections: ConnectionSet)
        #if os(Linux)
        case direct(DirectServer)
        #endif
    }

    private init(configuration: ServerConfiguration, addresses: [SocketAddress], stats: ServerStats, engine: Engine, logger: Logger) {
        self.configuration = configuration
        self.addresses = addresses
        self.stats = stats
        self.engine = engine
        self.logger = logger
    }

    /// Binds every endpoint and starts answering. Throws ``ServerError`` naming the endpoint that failed.
    public static func start(
        _ configuration: ServerConfiguration,
        logger: Logger = Logger(label: "mindalpha.serve")
    ) async throws -> ReferenceServer {
        precondition(!configuration.listen.isEmpty, "a server needs at least one endpoint")
        let stats = ServerStats()
        if configuration.engine == .direct, configuration.injects { throw ServerError.directEngineCannotInject }
        #if os(Linux)
        if configuration.usesDirectEngine {
            let direct = try DirectServer.start(configuration, stats: stats, logger: logger)
            return ReferenceServer(configuration: configuration, addresses: direct.addresses, stats: stats,
                                   engine: .direct(direct), logger: logger)
        }
        #endif
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        let connections = ConnectionSet()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                connections.insert(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ServerHandler(configuration: configuration, stats: stats, logger: logger))
                }
            }
        var listeners: [Channel] = []
        do {
            for endpoint in configuration.listen {
                do {
                    listeners.append(try await bootstrap.bind(host: endpoint.host, port: endpoint.port).get())
                } catch {
                    throw ServerError.cannotListen(endpoint, reason: ServerError.reason(error))
                }
            }
        } catch {
            for listener in listeners { try? await listener.close() }
            try? await group.shutdownGracefully()
            throw error
        }
        return ReferenceServer(
            configuration: configuration, addresses: listeners.compactMap(\.localAddress), stats: stats,
            engine: .nio(group: group, listeners: listeners, connections: connections), logger: logger)
    }

    /// Stops accepting, lets every connection finish the answers it is preparing (up to the configuration's
    /// `drainTimeout`), closes the rest and stops the event loops. Safe to call more than once.
    public func shutdown() async throws {
        let first = state.withLockedValue { state -> Bool in
            guard state == .running else { return false }
            state = .stopping
            return true
        }
        guard first else { return }
        switch engine {
        #if os(Linux)
        case let .direct(direct):
            await direct.shutdown()
        #endif
        case let .nio(group, listeners, connections):
            try await Self.shutdown(group: group, listeners: listeners, connections: connections, drainTimeout: configuration.drainTimeout)
        }
        state.withLockedValue { $0 = .stopped }
    }

    private static func shutdown(
        group: MultiThreadedEventLoopGroup, listeners: [Channel], connections: ConnectionSet, drainTimeout: TimeAmount
    ) async throws {
        for listener in listeners { try? await listener.close() }
        let open = connections.all()
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(ServerHandler.Drain()) }
        let deadline = NIODeadline.now() + drainTimeout
        for channel in open {
            let closed = channel.closeFuture
            let timeout = channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
            try? await closed.get()
            timeout.cancel()
        }
        try await group.shutdownGracefully()
    }
}

/// Why the server could not start. A struct over a private code, so that causes can be added without breaking
/// callers; a program with flags of its own words the advice with them (from ``address`` and ``reason``).
public struct ServerError: Error, CustomStringConvertible, Sendable, Hashable {
    enum Code: Hashable, Sendable {
        case cannotListen(HostPort, reason: String)
        case directEngineCannotInject
    }

    let code: Code

    static func cannotListen(_ address: HostPort, reason: String) -> Self { Self(code: .cannotListen(address, reason: reason)) }
    static let directEngineCannotInject = Self(code: .directEngineCannotInject)

    /// The address that could not be bound.
    public var address: HostPort? {
        switch code {
        case let .cannotListen(address, _): address
        case .directEngineCannotInject: nil
        }
    }

    /// What went wrong, without advice: `the address is in use`.
    public var reason: String {
        switch code {
        case let .cannotListen(_, reason): reason
        case .directEngineCannotInject: "the direct engine answers at once and injects nothing"
        }
    }

    public var description: String {
        switch code {
        case let .cannotListen(address, reason):
            return "cannot listen on \(address): \(reason) — choose another address, or stop what holds it"
        case .directEngineCannotInject:
            return "\(reason): inject latency, errors, drops or closes with the SwiftNIO engine (or the automatic choice)"
        }
    }

    /// A failed bind in words: `127.0.0.1:9000 is in use`, not the socket call's name and errno.
    static func reason(_ error: any Error) -> String {
        if let code = (error as? IOError)?.errnoCode { return reason(errno: code) }
        return "\(error)"
    }

    static func reason(errno code: Int32) -> String {
        switch code {
        case EADDRINUSE: return "the address is in use"
        case EACCES: return "permission denied (ports below 1024 need privileges)"
        case EADDRNOTAVAIL: return "this machine has no such address"
        default: return String(cString: strerror(code))
        }
    }
}

/// The open connections, so that shutdown can drain them.
final class ConnectionSet: Sendable {
    private let channels = NIOLockedValueBox<[ObjectIdentifier: Channel]>([:])

    func insert(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLockedValue { $0[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in _ = channels.withLockedValue { $0.removeValue(forKey: id) } }
    }

    func all() -> [Channel] { channels.withLockedValue { Array($0.values) } }
}
