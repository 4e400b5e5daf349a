import CommandLineKit

/// The program's commands. Every command's spec lives beside its implementation.
enum Program {
    static let version = "0.1.0"

    static let spec = ProgramSpec(
        name: "mindalpha-pool",
        version: version,
        summary: "diagnostic and load tool for MindAlpha-Serving fleets",
        commands: [DiscoverCommand.spec, ScheduleCommand.spec, BenchCommand.spec, ReportCommand.spec, ReplCommand.spec, ServeCommand.spec, ConsulDevCommand.spec, DemoCommand.spec],
        epilogue: """
        Exit codes: 0 success · 1 runtime failure · 2 a --fail-if threshold was breached · 64 usage error · \
        69 Consul unreachable or no passing instance · 130 interrupted.
        """)

    static func run(_ command: CommandSpec, _ arguments: ParsedArguments) async throws -> ExitCode {
        switch command.name {
        case DiscoverCommand.spec.name: return try await DiscoverCommand.run(arguments)
        case ScheduleCommand.spec.name: return try await ScheduleCommand.run(arguments)
        case BenchCommand.spec.name: return try await BenchCommand.run(arguments)
        case ReplCommand.spec.name: return try await ReplCommand.run(arguments)
        case ReportCommand.spec.name: return try await ReportCommand.run(arguments)
        case ServeCommand.spec.name: return try await ServeCommand.run(arguments)
        case ConsulDevCommand.spec.name: return try await ConsulDevCommand.run(arguments)
        case DemoCommand.spec.name: return try await DemoCommand.run(arguments)
        default: preconditionFailure("command '\(command.name)' has a spec but no implementation")
        }
    }
}
