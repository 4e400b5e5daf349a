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

    @Test func rulesAreCheckedOnTheCommandLineOnlyAndSaidOnce() throws {
        let spec = CommandSpec(name: "run", summary: "s", options: [
            OptionSpec("a", .flag, help: "A."), OptionSpec("b", .string, help: "B.", environment: "B"),
            OptionSpec("c", .flag, help: "C."), OptionSpec("d", .flag, help: "D."),
        ], rules: [.oneOf(["a", "b"]), .requires("c", anyOf: ["a"], why: "for a"), .excludes("d", ["a", "c"])])
        #expect(throws: UsageError("give --a or --b, not both", command: "run")) { try spec.parse(["--a", "--b", "x"]) }
        #expect(throws: UsageError("--c needs --a (for a)", command: "run")) { try spec.parse(["--c"]) }
        #expect(throws: UsageError("--d goes without --a or --c", command: "run")) { try spec.parse(["--d", "--a"]) }
        _ = try spec.parse(["--a"], environment: ["B": "from the environment"])  // only the command line breaks a rule
        _ = try spec.parse(["--a=false", "--b", "x"])  // a flag given false is not given
        _ = try spec.parse(["--a", "--c"])
        let program = ProgramSpec(name: "tool", version: "1", summary: "s", commands: [spec])
        guard case let .help(help) = try program.resolve(["run", "--help"]) else { Issue.record("no help"); return }
        #expect(help.contains("Rules:\n  give --a or --b, not both\n  --c needs --a (for a)\n  --d goes without --a or --c\n"))
        #expect(ManPageFormatter.page(program: program).contains(".PP\nRules:\n.IP \\(bu 2\ngive \\-\\-a or \\-\\-b, not both\n"))
        #expect(CompletionScript.script(.zsh, program: program).contains("'(--a --b --d)'--a'[A]'"))
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
        #expect(zsh.contains("'(--port -p)'{-p+,--port=}'[Port]:port: '"))
        #expect(zsh.contains("--mode='[Mode\\: a or b (really)]:mode:(a b)'"))
        #expect(zsh.contains("'*'--file='[A file]:file:_files'"))
        let fish = CompletionScript.script(.fish, program: Self.program)
        #expect(fish.contains("complete -c tool -n '__fish_seen_subcommand_from serve' -s p -l port -x -d 'Port'"))
        #expect(fish.contains("-l mode -x -a 'a b' -d 'Mode: a or b [really]'"))
        #expect(fish.contains("-l file -r -F -d 'A file'"))
    }
}
