import CommandLineKit
import Foundation
import MindAlphaDiscovery
import MindAlphaPool
import MindAlphaREPL

/// `mindalpha-pool repl`: ask one instance one question and see the answer, as redis-cli does for Redis.
enum ReplCommand {
    /// Each option once, typed: `args[Options.conns]`; the spec below lists them.
    enum Options {
        static let json = OptionSpec("json", .flag, help: "One JSON object per command.").flag
        static let timeout = OptionSpec("timeout", .duration, help: "Request timeout (the timeout command changes it).", default: "1s").duration.defaulted()
        static let conns = OptionSpec("conns", .integer(1...1000), help: "Connections per instance.", default: "2").integer.defaulted()
    }

    static let spec = CommandSpec(
        name: "repl",
        summary: "an interactive session for ad-hoc requests (GNU readline), or a script on stdin",
        discussion: """
        The prompt names the service (or the pinned instance) and appears at once; the pool connects in the \
        background. Type help for the commands: send, predict, use, instances, pool, stats, repeat, timeout, set, \
        quit. At a terminal: line editing, Ctrl-R, Tab completion, history across sessions in \
        $XDG_STATE_HOME/mindalpha-pool/history (MINDALPHA_POOL_HISTFILE overrides, /dev/null disables); Ctrl-C \
        cancels the request in flight or clears the line, and never exits; Ctrl-D or quit does. When stdin is not \
        a terminal: no prompt, one command per line, output per command (JSON lines with --json), exit status 1 \
        if any command failed.
        """,
        options: [
            Options.json.spec,
            Options.timeout.spec,
            Options.conns.spec,
        ] + ConsulOptions.serviceSpecs + ConsulOptions.specs,
        rules: ConsulOptions.rules,
        examples: [
            "mindalpha-pool repl --service ms-serving",
            "printf 'send hello\\npredict demo_model a=1\\n' | mindalpha-pool repl --target 127.0.0.1:9000 --json",
        ])

    static func run(_ args: ParsedArguments) async throws -> ExitCode {
        let instances = try ConsulOptions.instances(args, command: spec.name)
        let (source, label) = (instances.poolSource, instances.label)
        let configuration = PoolConfiguration(
            source: source, maxConnectionsPerInstance: args[Options.conns], requestTimeout: args[Options.timeout])
        let session = REPLSession(configuration: configuration, label: label, jsonOutput: args[Options.json], logger: Logs.make("repl"))
        let interactive = isatty(STDIN_FILENO) == 1
        // A person's session ends with 0 however its commands went; a script's status says whether any failed.
        var failed = false
        if interactive {
            await interactiveLoop(session)
        } else {
            failed = await session.run(StandardInputReader()) { Output.out($0) }
        }
        await session.shutdown()
        return failed ? .failure : .success
    }

    /// At a terminal, through readline.
    static func interactiveLoop(_ session: REPLSession) async {
        let reader = ReadlineReader(historyFile: ReadlineReader.historyPath(environment: ProcessInfo.processInfo.environment))
        let words = REPLSession.commands.map(\.name) + ["any", "hex", "output", "json", "text", "level="]
        Output.out("mindalpha-pool \(Program.version) — \(session.label). help lists the commands; Ctrl-D or quit ends.")
        while true {
            reader.setCompletions(words + (await session.knownInstancesIfReady))
            guard let line = await reader.readLine(prompt: session.prompt) else {
                Output.out("")
                break
            }
            reader.remember(line)
            _ = Interrupts.pending()
            let command = Task { await session.execute(line) }
            // Ctrl-C while it runs cancels it (the request fails with "cancelled"; the session goes on).
            let watcher = Task.detached {
                while !Task.isCancelled {
                    if Interrupts.pending() { command.cancel() }
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            let output = await command.value
            watcher.cancel()
            guard let output else { continue }
            if output.quit { break }
            Output.out(session.jsonOutput ? output.jsonLine : output.text)
        }
    }
}
