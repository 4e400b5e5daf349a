/// What a command line asks for.
public enum Invocation: Sendable {
    /// Print this help on stdout and exit 0.
    case help(String)
    /// Print the version on stdout and exit 0.
    case version(String)
    /// Run this command.
    case run(CommandSpec, ParsedArguments)
}

extension ProgramSpec {
    /// Resolves the words after the program name: `--help`, `help <command>`, `--version`, or a command.
    /// Throws ``UsageError`` for an unknown command, with the closest one suggested.
    public func resolve(_ arguments: [String], environment: [String: String] = [:]) throws(UsageError) -> Invocation {
        guard let first = arguments.first else {
            throw UsageError("no command given; run '\(name) --help' to list the commands")
        }
        switch first {
        case "-h", "--help", "help":
            // `help`, `help bench`, `--help bench`, `help --man`.
            guard arguments.count > 1 else { return .help(HelpFormatter.help(program: self)) }
            if arguments[1] == "--man", arguments.count == 2 { return .help(ManPageFormatter.page(program: self)) }
            guard arguments.count == 2 else {
                throw UsageError("'\(first)' takes one command name (or --man); got '\(arguments.dropFirst().joined(separator: " "))'")
            }
            return .help(HelpFormatter.help(program: self, command: try command(arguments[1])))
        case "--version", "version":
            return .version("\(name) \(version)")
        default:
            let command = try command(first)
            let parsed = try command.parse(Array(arguments.dropFirst()), environment: environment)
            if parsed.helpRequested { return .help(HelpFormatter.help(program: self, command: command)) }
            return .run(command, parsed)
        }
    }

    private func command(_ word: String) throws(UsageError) -> CommandSpec {
        if let command = command(named: word) { return command }
        let kind = word.hasPrefix("-") ? "option" : "command"
        var message = "unknown \(kind) '\(word)'"
        if let best = closest(to: word, among: commands.map(\.name) + ["help"]) {
            message += "; did you mean '\(best)'?"
        } else if kind == "option" {
            message += " (options go after the command)"
        }
        throw UsageError(message)
    }

    /// The usage line for an error about `command` (or the top-level one).
    public func usageLine(for commandName: String?) -> String {
        if let commandName, let spec = command(named: commandName) { return HelpFormatter.usage(program: self, command: spec) }
        return HelpFormatter.usage(program: self)
    }
}
