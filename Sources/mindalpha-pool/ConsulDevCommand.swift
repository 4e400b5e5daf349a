import CommandLineKit
import ConsulDevAgent

/// `mindalpha-pool consul-dev`: the in-memory Consul-compatible agent.
enum ConsulDevCommand {
    /// Each option once, typed: `args[Options.conns]`; the spec below lists them.
    enum Options {
        static let listen = OptionSpec("listen", short: "l", .hostPort, help: "Address to listen on (port 0 picks a free one).", default: "127.0.0.1:8500").hostPort.defaulted()
        static let node = OptionSpec("node", .string, help: "The node's name.", default: "consul-dev", valueName: "NAME").text.defaulted()
        static let datacenter = OptionSpec("datacenter", .string, help: "The datacenter's name.", default: "dc1", valueName: "DC").text.defaulted()
        static let aclToken = OptionSpec("acl-token", .string, help: "Turn ACLs on, denying what this token does not carry: the one token allowed.", environment: "CONSUL_DEV_ACL_TOKEN", valueName: "TOKEN").text
    }

    static let spec = CommandSpec(
        name: "consul-dev",
        summary: "run an in-memory, single-node, Consul-compatible agent for demos and CI",
        discussion: """
        Implements, as real Consul does: PUT /v1/agent/service/register, /v1/agent/service/deregister/:id, \
        /v1/agent/check/pass|warn|fail/:id; GET /v1/health/service/:name (passing, tag, blocking index/wait), \
        /v1/catalog/services, /v1/catalog/service/:name, /v1/status/leader, /v1/agent/self; the key/value store: \
        GET, PUT and DELETE /v1/kv/:key (recurse, keys, separator, raw, flags, cas, blocking index/wait), where \
        bench --coordinate agents meet. TTL checks expire to critical; TCP and HTTP checks are performed on their \
        interval. Nothing is persisted.
        """,
        options: [
            Options.listen.spec,
            Options.node.spec,
            Options.datacenter.spec,
            Options.aclToken.spec,
        ],
        examples: [
            "mindalpha-pool consul-dev &  # then: export CONSUL_HTTP_ADDR=127.0.0.1:8500",
            "mindalpha-pool consul-dev --listen 127.0.0.1:0",
        ])

    static func run(_ args: ParsedArguments) async throws -> ExitCode {
        let listen = args[Options.listen]
        let agent: ConsulDevAgent
        do {
            agent = try await ConsulDevAgent.start(
                host: listen.host, port: listen.port, nodeName: args[Options.node], datacenter: args[Options.datacenter],
                aclToken: args[Options.aclToken])
        } catch let error as ConsulDevAgentError {
            throw CommandError("cannot listen on \(error.address): \(error.reason) — choose another --listen, or stop what holds it")
        } catch {
            throw CommandError("\(error)")
        }
        Output.out("consul-dev listening on http://\(agent.address)")
        let signal = await Signals.waitForTermination()
        Output.err("\(signal): stopping consul-dev")
        try await agent.shutdown()
        return .success
    }
}
