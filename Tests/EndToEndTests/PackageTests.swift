import Foundation
import MindAlphaDiscovery
import MindAlphaPool
import TestSupport
import Testing

/// The tool as a package: the man page and the completions are made from the argument specs and checked in, the
/// shells really complete with them, and `make install` puts everything where man and the shells look.
@Suite struct PackageTests {
    static let man = Tool.repository.appendingPathComponent("man/mindalpha-pool.1")
    static let completions = Tool.repository.appendingPathComponent("completions")
    static let scripts = ["bash": "mindalpha-pool.bash", "zsh": "_mindalpha-pool", "fish": "mindalpha-pool.fish"]

    static func checkedIn(_ file: URL) throws -> String { try String(contentsOf: file, encoding: .utf8) }

    @Test func theManPageIsGeneratedFromTheSpecsAndCheckedIn() async throws {
        let generated = try await Tool.run(["help", "--man"])
        #expect(generated.status == 0)
        #expect(generated.stdout == (try Self.checkedIn(Self.man)), "man/mindalpha-pool.1 is stale: run 'make man' and commit it")
    }

    @Test func theCompletionsAreGeneratedFromTheSpecsAndCheckedIn() async throws {
        for (shell, file) in Self.scripts {
            let generated = try await Tool.run(["completions", shell])
            #expect(generated.status == 0)
            #expect(generated.stdout == (try Self.checkedIn(Self.completions.appendingPathComponent(file))),
                    "completions/\(file) is stale: run 'make man' and commit it")
        }
        let wrong = try await Tool.run(["completions", "tcsh"])
        #expect(wrong.status == 64 && wrong.stderr.contains("bash, zsh, fish"))
    }

    @Test func groffAndMandocFindNothingAndManRendersEveryCommandAndOption() async throws {
        let groff = try await Tool.exec("groff", ["-man", "-ww", "-z", Self.man.path])
        #expect(groff.status == 0 && groff.stderr.isEmpty && groff.stdout.isEmpty, "\(groff.stderr)")
        let mandoc = try await Tool.exec("mandoc", ["-T", "lint", Self.man.path])
        #expect(mandoc.status == 0 && mandoc.stdout.isEmpty && mandoc.stderr.isEmpty, "\(mandoc.stdout)\(mandoc.stderr)")
        let rendered = try await Tool.shell("MANWIDTH=100 man -l \(Self.man.path) 2>&1 | col -bx")
        #expect(rendered.status == 0)
        let text = rendered.stdout
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "ENVIRONMENT", "EXIT STATUS", "FILES", "EXAMPLES", "SEE ALSO"] {
            #expect(text.contains("\n\(section)\n"), "no \(section) section")
        }
        let help = try await Tool.run(["--help"])
        let commands = help.stdout.components(separatedBy: "Commands:\n")[1].components(separatedBy: "\n\n")[0]
            .split(separator: "\n").compactMap { line -> String? in
                let word = line.drop { $0 == " " }.prefix { $0 != " " }
                return line.hasPrefix("  ") && !line.hasPrefix("   ") && word != "help" ? String(word) : nil
            }
        #expect(commands.count == 9)
        for command in commands {
            #expect(text.contains("\n   \(command)\n"), "the man page has no \(command) section")
            // Every option of `--help` is in the page, under its command.
            let after = text.components(separatedBy: "\n   \(command)\n")[1]
            let section = after.firstMatch(of: /\n(   )?[^ \n]/).map { String(after[..<$0.range.lowerBound]) } ?? after
            let options = try await Tool.run([command, "--help"]).stdout
            for name in options.matches(of: /--([a-z][a-z0-9-]+)/).map({ String($0.1) }) where name != "help" {
                #expect(section.contains("--\(name)"), "the man page's \(command) lacks --\(name)")
            }
        }
        for variable in ["CONSUL_HTTP_ADDR", "CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN_FILE", "CONSUL_HTTP_SSL", "CONSUL_HTTP_SSL_VERIFY",
                         "CONSUL_CACERT", "MINDALPHA_SERVICE", "MINDALPHA_POOL_HISTFILE", "MINDALPHA_LOG_LEVEL", "NO_COLOR", "XDG_STATE_HOME"] {
            #expect(text.contains("\n       \(variable)\n") || text.contains("\n       \(variable) "), "ENVIRONMENT lacks \(variable)")
        }
        for code in ["0", "1", "2", "64", "69", "130"] {
            #expect(text.contains("\n       \(code) "), "EXIT STATUS lacks \(code)")
        }
    }

    @Test func helpHasOneFormatAndOneMeaningPerLetter() async throws {
        let top = try await Tool.run(["--help"])
        var letters: [Character: String] = [:]
        for command in ["discover", "schedule", "bench", "report", "repl", "serve", "consul-dev", "demo", "completions"] {
            let forms = [[command, "--help"], ["help", command], ["--help", command], [command, "-h"]]
            var texts: [String] = []
            for form in forms { texts.append(try await Tool.run(form).stdout) }
            #expect(Set(texts).count == 1 && texts[0].contains("Usage: mindalpha-pool \(command)"), "\(forms) differ")
            let help = texts[0]
            let options = help.components(separatedBy: "Options:\n")[1].components(separatedBy: "\n\n")[0]
            for stale in ["(default", "(env ", "(repeatable", "[env: X]"] {
                #expect(!options.contains(stale), "\(command) --help still writes \(stale)")
            }
            #expect(!help.contains("(repeatable). (repeatable)") && !help.contains("[repeatable] [repeatable]"))
            for match in help.matches(of: /\n  -([a-zA-Z]), --([a-z][a-z0-9-]*)/) {
                let (letter, name) = (Character(String(match.1)), String(match.2))
                if let other = letters[letter] { #expect(other == name, "-\(letter) is --\(other) in one command and --\(name) in \(command)") }
                letters[letter] = name
            }
        }
        #expect(letters["n"] == "requests")
        #expect(top.stdout.contains("Exit codes: 0 success") && top.stdout.contains("Environment: CONSUL_HTTP_ADDR"))
        let wrong = try await Tool.run(["help", "nosuch"])
        #expect(wrong.status == 64 && wrong.stderr.contains("unknown command 'nosuch'"))
    }

    // MARK: - The shells, driven

    /// Candidates bash's completion function offers for `line` (the cursor at its end), with `COMP_WORDS` split
    /// as bash splits them (at spaces, `=` and `:`), in a bash subprocess that sourced the script.
    static func bashComplete(_ line: String, path: String = "") async throws -> (candidates: [String], stderr: String) {
        var words: [String] = []
        var word = ""
        for c in line {
            if c == " " {
                if !word.isEmpty { words.append(word) }
                word = ""
            } else if c == "=" || c == ":" {
                if !word.isEmpty { words.append(word) }
                word = ""
                words.append(String(c))
            } else {
                word.append(c)
            }
        }
        if !word.isEmpty || line.hasSuffix(" ") { words.append(word) }
        let quoted = words.map(ReplTests.Terminal.quote).joined(separator: " ")
        let script = """
        export PATH=\(ReplTests.Terminal.quote(Tool.binary.deletingLastPathComponent().path)):$PATH
        source \(ReplTests.Terminal.quote(completions.appendingPathComponent("mindalpha-pool.bash").path))
        complete -p mindalpha-pool >&2
        COMP_LINE=\(ReplTests.Terminal.quote(line)); COMP_POINT=${#COMP_LINE}
        COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1)
        _mindalpha_pool
        printf '%s\\n' "${COMPREPLY[@]}"
        """
        let result = try await Tool.exec("bash", ["--norc", "--noprofile", "-c", script], in: URL(fileURLWithPath: path.isEmpty ? Tool.repository.path : path))
        #expect(result.status == 0)
        return (result.stdout.split(separator: "\n").map(String.init), result.stderr)
    }

    static func fishComplete(_ line: String) async throws -> [String] {
        let script = """
        set -x PATH \(ReplTests.Terminal.quote(Tool.binary.deletingLastPathComponent().path)) $PATH
        source \(ReplTests.Terminal.quote(completions.appendingPathComponent("mindalpha-pool.fish").path))
        complete -C \(ReplTests.Terminal.quote(line))
        """
        let result = try await Tool.exec("fish", ["--no-config", "-c", script], in: Tool.repository)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n").map { String($0.prefix { $0 != "\t" }) }
    }

    static func register(_ client: ConsulClient, _ service: String, ports: [Int]) async throws {
        for port in ports {
            try await client.register(ServiceRegistration(id: "\(service)-\(port)", name: service, address: "127.0.0.1", port: port, weight: 100, check: nil))
        }
    }

    @Test func bashCompletesCommandsOptionsChoicesFilesAndConsulsNames() async throws {
        let (_, registered) = try await Self.bashComplete("mindalpha-pool ")
        #expect(registered.contains("complete -F _mindalpha_pool mindalpha-pool"))
        #expect(try await Self.bashComplete("mindalpha-pool be").candidates == ["bench"])
        #expect(try await Self.bashComplete("mindalpha-pool re").candidates == ["report", "repl"])
        #expect(try await Self.bashComplete("mindalpha-pool bench --alg").candidates == ["--algorithm"])
        #expect(try await Self.bashComplete("mindalpha-pool bench --algorithm ").candidates == ["lvs", "smooth"])
        #expect(try await Self.bashComplete("mindalpha-pool schedule --algorithm=s").candidates == ["smooth"])
        #expect(try await Self.bashComplete("mindalpha-pool serve --check ").candidates == ["tcp", "ttl"])
        #expect(try await Self.bashComplete("mindalpha-pool completions ").candidates == ["bash", "zsh", "fish"])
        #expect(try await Self.bashComplete("mindalpha-pool report ").candidates.sorted() == ["compare", "export", "merge", "plot"])
        #expect(try await Self.bashComplete("mindalpha-pool help co").candidates == ["consul-dev", "completions"])
        #expect(try await Self.bashComplete("mindalpha-pool bench -c ").candidates.isEmpty)  // a number nobody can guess
        #expect(try await Self.bashComplete("mindalpha-pool bench --payload-file Package.sw").candidates == ["Package.swift"])
        #expect(try await Self.bashComplete("mindalpha-pool report merge Package.sw").candidates == ["Package.swift"])
        #expect(try await Self.bashComplete("mindalpha-pool discover --list-s").candidates == ["--list-services"])
        try await withDevAgent { agent, client in
            try await Self.register(client, "ms-serving", ports: [9001, 9002])
            try await Self.register(client, "ms-canary", ports: [9101])
            let consul = "--consul \(agent.address)"
            #expect(try await Self.bashComplete("mindalpha-pool bench \(consul) --service ").candidates == ["consul", "ms-canary", "ms-serving"])
            #expect(try await Self.bashComplete("mindalpha-pool bench \(consul) -s ms-s").candidates == ["ms-serving"])
            #expect(try await Self.bashComplete("mindalpha-pool repl --consul=\(agent.address) --service ms-c").candidates == ["ms-canary"])
            #expect(try await Self.bashComplete("mindalpha-pool bench \(consul) -s ms-serving --target ").candidates == ["127.0.0.1:9001", "127.0.0.1:9002"])
            // bash breaks words at ':': the candidates carry only what follows it.
            #expect(try await Self.bashComplete("mindalpha-pool bench \(consul) --target 127.0.0.1:91").candidates == ["9101"])
            #expect(try await Self.bashComplete("mindalpha-pool bench \(consul) -s ms-canary --target 127.0.0.1:").candidates == [":9101"])
            #expect(try await Self.bashComplete("mindalpha-pool bench \(consul) --target ").candidates.count == 3)
        }
        // Consul down: nothing offered, nothing said.
        let closed = try await ScriptedServer.closedPort()
        let down = try await Self.bashComplete("mindalpha-pool bench --consul 127.0.0.1:\(closed) --service ")
        #expect(down.candidates.isEmpty && !down.stderr.contains("mindalpha-pool:"), "\(down.stderr)")
    }

    @Test func discoverListsServicesAndTargetsAsBareLines() async throws {
        try await withDevAgent { agent, client in
            try await Self.register(client, "ms-serving", ports: [9002, 9001])
            let services = try await Tool.run(["discover", "--list-services", "--consul", agent.address])
            #expect(services.status == 0 && services.stdout == "consul\nms-serving\n")
            let targets = try await Tool.run(["discover", "--list-targets", "-s", "ms-serving", "--consul", agent.address])
            #expect(targets.status == 0 && Set(targets.stdout.split(separator: "\n")) == ["127.0.0.1:9001", "127.0.0.1:9002"])
            let none = try await Tool.run(["discover", "--list-targets", "-s", "nope", "--consul", agent.address])
            #expect(none.status == 69 && none.stdout.isEmpty && none.stderr.contains("service 'nope' has no passing instance"))
        }
        let closed = try await ScriptedServer.closedPort()
        let down = try await Tool.run(["discover", "--list-services", "--consul", "127.0.0.1:\(closed)"])
        #expect(down.status == 69 && down.stdout.isEmpty)
    }

    @Test func fishCompletesTheSameWay() async throws {
        #expect(try await Self.fishComplete("mindalpha-pool be") == ["bench"])
        #expect(try await Self.fishComplete("mindalpha-pool bench --algorithm ") == ["lvs", "smooth"])
        #expect(try await Self.fishComplete("mindalpha-pool bench --payload-file Package.sw") == ["Package.swift"])
        #expect(try await Self.fishComplete("mindalpha-pool completions ").sorted() == ["bash", "fish", "zsh"])
        #expect(try await Self.fishComplete("mindalpha-pool bench --thr") == ["--threads"])
        try await withDevAgent { agent, client in
            try await Self.register(client, "ms-serving", ports: [9001, 9002])
            #expect(try await Self.fishComplete("mindalpha-pool bench --consul \(agent.address) --service ms") == ["ms-serving"])
            #expect(try await Self.fishComplete("mindalpha-pool bench --consul \(agent.address) -s ms-serving --target ") == ["127.0.0.1:9001", "127.0.0.1:9002"])
        }
        let closed = try await ScriptedServer.closedPort()
        #expect(try await Self.fishComplete("mindalpha-pool bench --consul 127.0.0.1:\(closed) --service ").isEmpty)
    }

    @Test func theScriptsParseInTheirShells() async throws {
        let bash = try await Tool.exec("bash", ["-n", Self.completions.appendingPathComponent("mindalpha-pool.bash").path])
        #expect(bash.status == 0 && bash.stderr.isEmpty, "\(bash.stderr)")
        let zsh = try await Tool.exec("zsh", ["-n", Self.completions.appendingPathComponent("_mindalpha-pool").path])
        #expect(zsh.status == 0 && zsh.stderr.isEmpty, "\(zsh.stderr)")
        let fish = try await Tool.exec("fish", ["--no-config", "-n", Self.completions.appendingPathComponent("mindalpha-pool.fish").path])
        #expect(fish.status == 0 && fish.stderr.isEmpty, "\(fish.stderr)")
    }

    /// zsh at a terminal, as a person uses it: Tab after a choice option, a command prefix, and --service.
    @Test func zshCompletesAtATerminal() async throws {
        let fpath = FileManager.default.temporaryDirectory.appendingPathComponent("zsh-fpath-\(UUID())")
        try FileManager.default.createDirectory(at: fpath, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: fpath) }
        try FileManager.default.copyItem(at: Self.completions.appendingPathComponent("_mindalpha-pool"), to: fpath.appendingPathComponent("_mindalpha-pool"))
        try await withDevAgent { agent, client in
            try await Self.register(client, "ms-serving", ports: [9001])
            let terminal = ReplTests.Terminal()
            defer { terminal.stop() }
            let path = Tool.binary.deletingLastPathComponent().path
            try terminal.start("env -i HOME=\(fpath.path) TERM=xterm PATH=\(path):/usr/bin:/bin zsh -f")
            // One command per line: tmux takes a lone ';' as its own command separator.
            for line in ["fpath=(\(fpath.path) $fpath)", "autoload -U compinit", "compinit -u", "PS1=\"Z\"\"P> \""] {
                try await terminal.type(line + "\n")
            }
            try await terminal.waitFor("\nZP>")
            try await terminal.type("mindalpha-pool bench --algo")
            try terminal.keys("Tab")
            try await terminal.waitFor("ZP> mindalpha-pool bench --algorithm=")
            try terminal.keys("Tab")
            let screen = try await terminal.waitFor("smooth")
            #expect(screen.contains("lvs"))
            try terminal.keys("C-u")
            try await terminal.type("mindalpha-pool bench --consul \(agent.address) --service ms-")
            try terminal.keys("Tab")
            try await terminal.waitFor("--service ms-serving")
        }
    }

    // MARK: - make install

    @Test func makeInstallPutsEverythingWhereManAndTheShellsLookAndUninstallRemovesIt() async throws {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("prefix-\(UUID())")
        defer { try? FileManager.default.removeItem(at: prefix) }
        let make = "make -s -C \(ReplTests.Terminal.quote(Tool.repository.path)) PREFIX=\(prefix.path) BIN=\(ReplTests.Terminal.quote(Tool.binary.path))"
        let install = try await Tool.shell("\(make) install")
        #expect(install.status == 0, "\(install.stderr)")
        let installed = ["bin/mindalpha-pool", "share/man/man1/mindalpha-pool.1", "share/bash-completion/completions/mindalpha-pool",
                         "share/zsh/site-functions/_mindalpha-pool", "share/fish/vendor_completions.d/mindalpha-pool.fish"]
        for file in installed {
            #expect(FileManager.default.fileExists(atPath: prefix.appendingPathComponent(file).path), "\(file) not installed")
        }
        let run = try await Tool.exec(prefix.appendingPathComponent("bin/mindalpha-pool").path, ["--version"])
        #expect(run.status == 0 && run.stdout.hasPrefix("mindalpha-pool "))
        let found = try await Tool.exec("man", ["-M", prefix.appendingPathComponent("share/man").path, "-w", "mindalpha-pool"])
        #expect(found.stdout.trimmingCharacters(in: .newlines) == prefix.appendingPathComponent("share/man/man1/mindalpha-pool.1").path)
        let page = try await Tool.shell("MANWIDTH=80 man -M \(prefix.path)/share/man mindalpha-pool 2>&1 | col -bx | head -3")
        #expect(page.stdout.contains("MINDALPHA-POOL(1)"))
        let sourced = try await Tool.exec("bash", ["--norc", "-c", "source \(prefix.path)/share/bash-completion/completions/mindalpha-pool && complete -p mindalpha-pool"])
        #expect(sourced.stdout.contains("complete -F _mindalpha_pool mindalpha-pool"))
        let uninstall = try await Tool.shell("\(make) uninstall")
        #expect(uninstall.status == 0)
        for file in installed {
            #expect(!FileManager.default.fileExists(atPath: prefix.appendingPathComponent(file).path), "\(file) left behind")
        }
    }
}
