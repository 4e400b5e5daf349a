@testable import CommandLineKit
import Testing

/// The man page and the completion scripts as text, from a small spec (the real ones are checked end to end).
@Suite struct ManPageAndCompletionTests {
    static let program = ProgramSpec(
        name: "tool", version: "1.2.3", date: "2026-01-02", summary: "does things", description: "It does — things.",
        commands: [
            CommandSpec(name: "serve", summary: "serve things", discussion: ".starts with a dot\nsecond paragraph", options: [
                OptionSpec("port", short: "p", .integer(0...65535), help: "Port.", default: "9000", environment: "TOOL_PORT"),
                OptionSpec("mode", .choice(["a", "b"]), help: "Mode: a or b [really].", environmentAlso: ["TOOL_MODE"]),
                OptionSpec("file", .path, help: "A file.", repeatable: true),
                OptionSpec("name", .string, help: "A name.", valuesCommand: ["serve", "--list"]),
                OptionSpec("list", .flag, help: "List names."),
            ]),
        ],
        environment: [Definition("TOOL_PORT", "The port.")], exitStatus: [Definition("0", "Success.")],
        examples: [Definition("Serve:", "tool serve -p 1")], seeAlso: ["consul(1)", "man(1)"])

    @Test func roffIsEscaped() {
        #expect(ManPageFormatter.escape("--a\\b") == "\\-\\-a\\eb")
        #expect(ManPageFormatter.escape(".x\n'y") == "\\&.x\n\\&'y")
        #expect(ManPageFormatter.escape("≤ é") == "\\[u2264] \\[u00E9]")
        #expect(ManPageFormatter.escape(String(repeating: "word ", count: 40)).split(separator: "\n").allSatisfy { $0.utf8.count <= 80 })
    }

    @Test func thePageHasEverySectionAndOption() {
        let page = ManPageFormatter.page(program: Self.program)
        #expect(page.contains(".TH TOOL 1 2026-01-02 \"tool 1.2.3\" \"User Commands\""))
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "ENVIRONMENT", "EXIT STATUS", "EXAMPLES", "SEE ALSO"] {
            #expect(page.contains(".SH \(section)\n"))
        }
        #expect(!page.contains(".SH FILES"))  // none given
        #expect(page.contains("\\fB\\-p\\fR, \\fB\\-\\-port\\fR \\fIN\\fR\nPort. [default: 9000] [env: TOOL_PORT]"))
        #expect(page.contains("Mode: a or b [really]. [env: TOOL_MODE]"))
        #expect(page.contains("A file. [repeatable]"))
        #expect(page.contains("\\&.starts with a dot\n.PP\nsecond paragraph"))
        #expect(page.contains("It does \\[u2014] things."))
        #expect(page.contains(".BR consul (1) ,\n.BR man (1)\n"))
    }

    @Test func helpTakesATopicOrTheManPage() throws {
        guard case let .help(man) = try Self.program.resolve(["help", "--man"]) else { Issue.record("no page"); return }
        #expect(man.hasPrefix(".\\\" The manual of tool"))
        guard case let .help(a) = try Self.program.resolve(["--help", "serve"]),
              case let .help(b) = try Self.program.resolve(["help", "serve"])
        else { Issue.record("no help"); return }
        #expect(a == b && a.contains("Usage: tool serve"))
        #expect(throws: UsageError.self) { try Self.program.resolve(["help", "serve", "extra"]) }
    }

    @Test func scriptsNameEveryOptionAndWhereItsValuesComeFrom() {
        let bash = CompletionScript.script(.bash, program: Self.program)
        #expect(bash.contains("complete -F _tool tool"))
        #expect(bash.contains("--mode) mapfile -t candidates < <(compgen -P \"$prefix\" -W \"a b\" -- \"$value\")"))
        #expect(bash.contains("--file) compopt -o filenames"))
        // The values command gets the other valued options typed on the line, not the option itself.
        #expect(bash.contains("--name) mapfile -t candidates < <(_tool_values \"--port -p --mode --file\" serve --list"))
        let zsh = CompletionScript.script(.zsh, program: Self.program)
        #expect(zsh.hasPrefix("#compdef tool\n"))
        #expect(zsh.contains("'(-p --port)'{-p+,--port=}'[Port]:port: '"))
        #expect(zsh.contains("--mode='[Mode\\: a or b (really)]:mode:(a b)'"))
        #expect(zsh.contains("'*'--file='[A file]:file:_files'"))
        let fish = CompletionScript.script(.fish, program: Self.program)
        #expect(fish.contains("complete -c tool -n '__fish_seen_subcommand_from serve' -s p -l port -x -d 'Port'"))
        #expect(fish.contains("-l mode -x -a 'a b' -d 'Mode: a or b [really]'"))
        #expect(fish.contains("-l file -r -F -d 'A file'"))
    }
}
