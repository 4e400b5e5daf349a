/// Renders `--help` texts and usage lines from the specs.
public enum HelpFormatter {
    /// The one-line usage of a command: `Usage: mindalpha-pool serve [options]`.
    public static func usage(program: ProgramSpec, command: CommandSpec) -> String {
        if let custom = command.usage { return "Usage: \(program.name) \(command.name) \(custom)" }
        var parts = ["Usage: \(program.name) \(command.name)"]
        if !command.options.isEmpty { parts.append("[options]") }
        for p in command.positionals {
            let word = "<\(p.name)>" + (p.variadic ? "..." : "")
            parts.append(p.optional ? "[\(word)]" : word)
        }
        return parts.joined(separator: " ")
    }

    /// The top-level usage line.
    public static func usage(program: ProgramSpec) -> String {
        "Usage: \(program.name) <command> [options]"
    }

    /// The full help of one command.
    public static func help(program: ProgramSpec, command: CommandSpec) -> String {
        var out = "\(program.name) \(command.name) — \(command.summary)\n\n"
        out += usage(program: program, command: command) + "\n"
        if !command.positionals.isEmpty {
            out += "\nArguments:\n"
            out += table(command.positionals.map { ("<\($0.name)>", $0.help) })
        }
        out += "\nOptions:\n"
        let rows = command.options.map { option -> (String, String) in
            let short = option.short.map { "-\($0), " } ?? "    "
            let value = option.placeholder.isEmpty ? "" : " " + option.placeholder
            return (short + "--" + option.name + value, ([option.help] + option.annotations).joined(separator: " "))
        }
        out += table(rows + [("-h, --help", "Show this help.")])
        if !command.rules.isEmpty {
            out += "\nRules:\n" + command.rules.map { "  " + $0.text + "\n" }.joined()
        }
        if !command.discussion.isEmpty { out += "\n" + wrap(command.discussion, width: 100, indent: "") + "\n" }
        if !command.examples.isEmpty {
            out += "\nExamples:\n" + command.examples.map { "  \($0)\n" }.joined()
        }
        return out
    }

    /// The top-level help: what the program is, its commands, the epilogue.
    public static func help(program: ProgramSpec) -> String {
        var out = "\(program.name) \(program.version) — \(program.summary)\n\n"
        out += usage(program: program) + "\n\nCommands:\n"
        out += table(program.commands.map { ($0.name, $0.summary) } + [("help <command>", "show a command's options (help --man: the manual page)")])
        out += "\nGlobal options:\n"
        out += table([("-h, --help", "Show help (also after a command)."), ("--version", "Print the version.")])
        if !program.exitStatus.isEmpty {
            let codes = program.exitStatus.map { "\($0.term) \($0.text.prefix { $0 != "." && $0 != ":" }.lowercased())" }
            out += "\n" + wrap("Exit codes: " + codes.joined(separator: " · ") + ".", width: 100, indent: "") + "\n"
        }
        if !program.environment.isEmpty {
            out += "\n" + wrap("Environment: " + program.environment.map(\.term).joined(separator: ", ") + ".", width: 100, indent: "") + "\n"
        }
        out += "\nRun '\(program.name) <command> --help' for a command's options, 'man \(program.name)' for the manual.\n"
        return out
    }

    /// Two columns, the second wrapped under itself.
    static func table(_ rows: [(String, String)]) -> String {
        let width = min(34, (rows.map(\.0.count).max() ?? 0) + 4)
        var out = ""
        for (left, right) in rows {
            let head = "  " + left
            let indent = String(repeating: " ", count: width)
            let body = wrap(right, width: 100 - width, indent: indent)
            if head.count + 2 > width {
                out += head + "\n" + indent + body.dropFirst(indent.count) + "\n"
            } else {
                out += head + String(repeating: " ", count: width - head.count) + body.dropFirst(indent.count) + "\n"
            }
        }
        return out
    }

    /// Greedy word wrap; every line gets `indent`, paragraphs (blank lines) are kept.
    static func wrap(_ text: String, width: Int, indent: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { paragraph -> String in
            var lines: [String] = []
            var line = ""
            for word in paragraph.split(separator: " ") {
                if !line.isEmpty, line.count + 1 + word.count > width {
                    lines.append(line)
                    line = ""
                }
                line += line.isEmpty ? String(word) : " " + word
            }
            lines.append(line)
            return lines.map { $0.isEmpty ? "" : indent + $0 }.joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
