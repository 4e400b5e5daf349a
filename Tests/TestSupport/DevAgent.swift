import ConsulDevAgent
import MindAlphaDiscovery
import MindAlphaPool

/// Runs `body` with a `ConsulDevAgent` on 127.0.0.1 port 0 and a client for it; both are shut down after.
public func withDevAgent<T>(aclToken: String? = nil, _ body: (ConsulDevAgent, ConsulClient) async throws -> T) async throws -> T {
    let agent = try await ConsulDevAgent.start(host: "127.0.0.1", port: 0, aclToken: aclToken)
    let client = try ConsulClient(settings: ConsulSettings(hostPort: agent.address, token: aclToken))
    do {
        let result = try await body(agent, client)
        try await client.shutdown()
        try await agent.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        try? await agent.shutdown()
        throw error
    }
}
