/// The exit codes every command uses (docs/design.md).
public enum ExitCode: Int32, Sendable {
    case success = 0
    /// A runtime failure.
    case failure = 1
    /// A `--fail-if` threshold (or `--strict` lint) was breached.
    case thresholdBreached = 2
    /// The command line was wrong (sysexits EX_USAGE).
    case usage = 64
    /// Consul unreachable or no passing instance (sysexits EX_UNAVAILABLE).
    case unavailable = 69
    /// Interrupted by SIGINT.
    case interrupted = 130
}
