import CommandLineKit

/// `mindalpha-pool completions bash|zsh|fish`: the completion script for a shell, made from the specs.
enum CompletionsCommand {
    static let spec = CommandSpec(
        name: "completions",
        summary: "print the completion script for bash, zsh or fish",
        discussion: """
        The script completes commands, options, choice values and files, and asks Consul (through discover \
        --list-services and --list-targets, with the Consul options already typed, for at most 2 seconds, silently) \
        for service names after --service and instance addresses after --target. make install puts them where each \
        shell looks.
        """,
        options: [],
        positionals: [PositionalSpec("shell", .choice(CompletionScript.Shell.allCases.map(\.rawValue)), help: "bash, zsh or fish.")],
        examples: [
            "source <(mindalpha-pool completions bash)",
            "mindalpha-pool completions zsh > ~/.zfunc/_mindalpha-pool",
            "mindalpha-pool completions fish > ~/.config/fish/completions/mindalpha-pool.fish",
        ])

    static func run(_ args: ParsedArguments) throws -> ExitCode {
        let shell = CompletionScript.Shell(rawValue: args.positionals[0])!
        Output.out(CompletionScript.script(shell, program: Program.spec), terminator: "")
        return .success
    }
}
