import CommandLineKit
import ConsulDevAgent
import Foundation
import MindAlphaDiscovery
import MindAlphaPool
import MindAlphaServer

/// `mindalpha-pool demo`: the whole tool on a local fleet, in one process, with nothing to set up.
enum DemoCommand {
    /// Each option once, typed: `args[Options.conns]`; the spec below lists them.
    enum Options {
        static let duration = OptionSpec("duration", .duration, help: "How long the bench step runs.", default: "5s").duration.defaulted()
    }

    static let spec = CommandSpec(
        name: "demo",
        summary: "run discover, schedule and a 5-second bench against an in-process Consul and three instances",
        discussion: """
        Starts, inside this process, a Consul-compatible agent and three reference server instances on free loopback \
        ports, registered as ms-serving with balanceFactor 100, 200 and 300; runs discover, schedule and \
        bench --conns 30 against them, each under a heading; then stops everything. What you see is what the \
        commands print against a real fleet.
        """,
        options: [
            Options.duration.spec,
        ],
        examples: ["mindalpha-pool demo"])

    static let service = "ms-serving"

    static func run(_ args: ParsedArguments) async throws -> ExitCode {
        let logger = Logs.make("demo")
        let agent = try await ConsulDevAgent.start(host: "127.0.0.1", port: 0)
        var servers: [ReferenceServer] = []
        do {
            let client = try ConsulClient(settings: ConsulSettings(hostPort: agent.address), logger: logger)
            for weight in [100, 200, 300] {
                let server = try await ReferenceServer.start(
                    ServerConfiguration(listen: [.init(host: "127.0.0.1", port: 0)], threads: 1), logger: logger)
                servers.append(server)
                let port = server.addresses[0].port!
                try await client.register(ServiceRegistration(
                    id: "\(service)-\(port)", name: service, address: "127.0.0.1", port: port, weight: weight,
                    check: .init(Name: "tcp", TCP: "127.0.0.1:\(port)", Interval: "10s", Timeout: "1s", Status: "passing")))
            }
            try await client.shutdown()
            Output.out("consul-dev on \(agent.address); \(service) instances on " +
                servers.map { "127.0.0.1:\($0.addresses[0].port!)" }.joined(separator: ", ") + " with balanceFactor 100, 200, 300\n")
            let consul = ["--service", service, "--consul", agent.address]
            try await step("discover --service \(service)", DiscoverCommand.spec, consul, DiscoverCommand.run)
            try await step("schedule --service \(service)", ScheduleCommand.spec, consul + ["--picks", "12"], ScheduleCommand.run)
            let duration = formatDuration(args[Options.duration])
            try await step("bench --service \(service) --conns 30 --duration \(duration)", BenchCommand.spec,
                           consul + ["--conns", "30", "--duration", duration], BenchCommand.run)
        } catch {
            await stop(agent, servers)
            throw error
        }
        await stop(agent, servers)
        return .success
    }

    private static func step(
        _ title: String, _ spec: CommandSpec, _ arguments: [String], _ run: (ParsedArguments) async throws -> ExitCode
    ) async throws {
        Output.out("== mindalpha-pool \(title)\n")
        let code = try await run(try spec.parse(arguments, environment: [:]))
        guard code == .success else { throw CommandError("demo: '\(title)' exited \(code.rawValue)") }
        Output.out("")
    }

    private static func stop(_ agent: ConsulDevAgent, _ servers: [ReferenceServer]) async {
        for server in servers { try? await server.shutdown() }
        try? await agent.shutdown()
    }
}
