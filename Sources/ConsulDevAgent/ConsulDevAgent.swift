import Logging
import MindAlphaWire
import NIOCore
import NIOHTTP1
import NIOPosix

/// An in-memory, single-node agent that answers the part of Consul's HTTP API this tool uses, exactly as real
/// Consul does (`Tests/Fixtures/consul/` is the reference). For tests, demos and CI where no Consul runs.
///
/// ```swift
/// let agent = try await ConsulDevAgent.start(host: "127.0.0.1", port: 0)
/// // CONSUL_HTTP_ADDR = agent.address
/// try await agent.shutdown()
/// ```
public final class ConsulDevAgent: Sendable {
    /// `host:port` it listens on.
    public let address: String
    public let port: Int
    private let channel: Channel
    private let group: MultiThreadedEventLoopGroup
    private let checks: CheckRunner
    private let state: AgentState

    private init(address: String, port: Int, channel: Channel, group: MultiThreadedEventLoopGroup, checks: CheckRunner, state: AgentState) {
        self.address = address
        self.port = port
        self.channel = channel
        self.group = group
        self.checks = checks
        self.state = state
    }

    /// Blocking queries held open right now: what a test waits on to know that a query it sent is waiting.
    package var blockedQueries: Int { state.waiterCount }

    /// Starts listening. `aclToken` turns ACLs on (default deny) with that token as the only one allowed.
    public static func start(
        host: String = "127.0.0.1", port: Int = 8500, nodeName: String = "consul-dev", datacenter: String = "dc1",
        aclToken: String? = nil
    ) async throws -> ConsulDevAgent {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = AgentState(nodeName: nodeName, datacenter: datacenter, address: host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host)
        let checks = CheckRunner(state: state, group: group)
        let router = AgentRouter(state: state, checks: checks, aclToken: aclToken)
        let channel: Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(AgentHTTPHandler(router: router))
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            try? await group.shutdownGracefully()
            let reason: String
            switch (error as? IOError)?.errnoCode {
            case EADDRINUSE?: reason = "the address is in use"
            case EACCES?: reason = "permission denied (ports below 1024 need privileges)"
            default: reason = "\(error)"
            }
            throw ConsulDevAgentError.cannotListen(HostPort(host: host, port: port).description, reason: reason)
        }
        let bound = channel.localAddress?.port ?? port
        return ConsulDevAgent(
            address: HostPort(host: host, port: bound).description, port: bound, channel: channel, group: group, checks: checks,
            state: state)
    }

    /// Stops listening, stops the checks and closes every connection.
    public func shutdown() async throws {
        checks.stopAll()
        try? await channel.close()
        try await group.shutdownGracefully()
    }
}

extension ConsulDevAgent {
    /// A router over a fresh in-memory catalog, as ``start(host:port:nodeName:datacenter:aclToken:)`` makes for its
    /// connections: for driving the agent's request handling without a socket (the fuzz targets).
    package static func makeRouter(group: EventLoopGroup, aclToken: String? = nil) -> AgentRouter {
        let state = AgentState(nodeName: "consul-dev", datacenter: "dc1", address: "127.0.0.1")
        return AgentRouter(state: state, checks: CheckRunner(state: state, group: group), aclToken: aclToken)
    }
}

/// Why the agent could not start. A struct, so that causes can be added without breaking callers; a program with
/// flags of its own words the advice with them (from ``address`` and ``reason``).
public struct ConsulDevAgentError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The address that could not be bound.
    public let address: String
    /// What went wrong, without advice: `the address is in use`.
    public let reason: String

    static func cannotListen(_ address: String, reason: String) -> Self { Self(address: address, reason: reason) }

    public var description: String { "cannot listen on \(address): \(reason) — choose another address, or stop what holds it" }
}
