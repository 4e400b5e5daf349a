import CommandLineKit
import MindAlphaBench

/// The program's commands. Every command's spec lives beside its implementation; the man page, `--help` and the
/// completions are all made from these specs.
enum Program {
    static let version = "0.1.0"

    static let spec = ProgramSpec(
        name: "mindalpha-pool",
        version: version,
        date: "2026-12-01",
        summary: "diagnostic and load tool for MindAlpha-Serving fleets",
        description: """
        mindalpha-pool tells the truth about a MindAlpha-Serving fleet: what Consul says about the service, the weight \
        every production client computes from each instance's Service.Meta["balanceFactor"] (absent: 200), how LVS \
        weighted round robin spreads picks over those weights, how the fleet behaves under load, and what one instance \
        answers. It reaches instances as a production client does: through its own connection pool, which follows \
        Consul, keeps up to N TCP connections per instance, and matches answers to requests by request ID.
        Instances come from Consul (--service; the address from --consul or CONSUL_HTTP_ADDR) or are given as \
        --target HOST:PORT[@WEIGHT]. Options go after the command; every option has a long name, values are given as \
        --name VALUE or --name=VALUE, durations in Go's syntax (250ms, 1m30s), sizes as 64, 4KiB, 1MiB, rates as 5000 or 5k.
        """,
        commands: [
            DiscoverCommand.spec, ScheduleCommand.spec, BenchCommand.spec, ReportCommand.spec, ReplCommand.spec,
            ServeCommand.spec, ConsulDevCommand.spec, DemoCommand.spec, CompletionsCommand.spec,
        ],
        environment: [
            Definition("CONSUL_HTTP_ADDR", "Consul's HTTP address when --consul is not given: HOST:PORT, http://HOST:PORT or https://HOST:PORT (default 127.0.0.1:8500)."),
            Definition("CONSUL_HTTP_TOKEN", "The ACL token when neither --token nor --token-file is given."),
            Definition("CONSUL_HTTP_TOKEN_FILE", "A file holding the ACL token, when --token-file is not given; it wins over CONSUL_HTTP_TOKEN."),
            Definition("CONSUL_HTTP_SSL", "true or 1: a HOST:PORT address without a scheme means https."),
            Definition("CONSUL_HTTP_SSL_VERIFY", "false: do not verify Consul's TLS certificate."),
            Definition("CONSUL_CACERT", "CA certificates (PEM) to verify Consul's TLS certificate, when --ca-file is not given."),
            Definition("MINDALPHA_SERVICE", "The service name when --service is not given."),
            Definition("MINDALPHA_POOL_HISTFILE", "The REPL's history file; /dev/null keeps no history."),
            Definition("XDG_STATE_HOME", "Where the REPL's history lives when MINDALPHA_POOL_HISTFILE is not set: $XDG_STATE_HOME/mindalpha-pool/history (default ~/.local/state)."),
            Definition("MINDALPHA_LOG_LEVEL", "The library's log level on stderr: trace, debug, info, notice, warning, error or critical (default: warning)."),
            Definition("CONSUL_DEV_ACL_TOKEN", "consul-dev: turn ACLs on with this token, when --acl-token is not given."),
            Definition("NO_COLOR", "When set, nothing is coloured. (The output has no colour today; this stays true.)"),
            Definition("TERM", "dumb: bench's progress line, which rewrites itself, is not drawn."),
        ],
        exitStatus: [
            Definition("0", "Success."),
            Definition("1", "Failure: a request or file failed, a bench run measured nothing or no request succeeded, Consul refused (a permission the token lacks, HTTP 403) or answered with an error."),
            Definition("2", "Threshold breached: a bench --fail-if held, or discover --strict found registration problems."),
            Definition("64", "Usage error: a wrong option, value or combination (the message names it)."),
            Definition("69", "Unavailable: Consul unreachable (or it did not answer in time), or no passing instance."),
            Definition("130", "Interrupted: SIGINT or SIGTERM ended it (bench still prints its partial report)."),
            Definition("141", "Output closed: the reader went away (as | head does); it stops quietly."),
        ],
        files: [
            Definition("~/.local/state/mindalpha-pool/history", "The REPL's history (mode 0600, in a 0700 folder); see XDG_STATE_HOME and MINDALPHA_POOL_HISTFILE."),
        ],
        examples: [
            Definition("What every client of the service sees, and whether its registrations are sound (exit 2 in CI if not):",
                       "mindalpha-pool discover --service ms-serving --consul consul.internal:8500 --strict"),
            Definition("How LVS weighted round robin spreads picks over three weights, beside nginx's smooth variant:",
                       "mindalpha-pool schedule --weights a=200,b=200,c=100 --compare"),
            Definition("A CI gate: 20k requests/s for a minute, failing the job on a slow tail or errors:",
                       "mindalpha-pool bench --service ms-serving --rate 20k --duration 1m \\\n    --fail-if 'p99>5ms' --fail-if 'errors>0.1%' --json > bench.json"),
            Definition("One instance asked from a script, one JSON answer per line:",
                       "printf 'send hello\\nstats\\n' | mindalpha-pool repl --target 127.0.0.1:9000 --json"),
            Definition("Reports of several hosts that ran at the same time, as one:",
                       "mindalpha-pool report merge host-a.json host-b.json"),
        ],
        seeAlso: ["consul(1)", "wrk2(1)", "readline(3)"])

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
        case CompletionsCommand.spec.name: return try CompletionsCommand.run(arguments)
        default: preconditionFailure("command '\(command.name)' has a spec but no implementation")
        }
    }
}
