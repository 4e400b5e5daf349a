import Foundation
import Testing
import TestSupport

/// `mindalpha-pool repl` as a script (stdin a pipe) and as a person uses it (a terminal, through tmux).
@Suite(.serialized) struct ReplTests {
    @Test func aScriptOnStdinPrintsOneJSONLinePerCommandAndFailsIfAnyCommandFailed() async throws {
        let (server, ports) = try await BenchTests.serve(1)
        defer { server.terminate() }
        let target = ["repl", "--target", "127.0.0.1:\(ports[0])", "--json"]
        let ok = try await Tool.run(target, input: "send hello\npredict demo_model a=1\n")
        #expect(ok.status == 0, "\(ok.stderr)")
        let lines = ok.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == 2)
        #expect(lines[0]?["command"] as? String == "send" && lines[0]?["ok"] as? Bool == true)
        #expect((lines[1]?["scores"] as? [Double])?.count == 1)
        #expect(!ok.stdout.contains(">"))  // no prompt when stdin is not a terminal
        let failing = try await Tool.run(target, input: "send hello\nsned x\nsend again\n")
        #expect(failing.status == 1)
        #expect(failing.stdout.split(separator: "\n").count == 3)  // the session went on after the error
        #expect(failing.stdout.contains("did you mean 'send'"))
        let text = try await Tool.run(["repl", "--target", "127.0.0.1:\(ports[0])"], input: "send hi\nquit\nsend never\n")
        #expect(text.status == 0 && text.stdout.hasPrefix("127.0.0.1:\(ports[0])  id 2  "))
        #expect(!text.stdout.contains("id 3"))
    }

    /// A terminal session in a private tmux server.
    final class Terminal {
        let socket = "mp-\(UUID().uuidString.prefix(8))"
        let session = "repl"

        /// Runs a tmux command through the shell; its output only when `output` (the server the first command
        /// starts inherits its descriptors and keeps them open, so those go to /dev/null).
        @discardableResult
        func tmux(_ args: [String], output: Bool = false) throws -> String {
            let line = (["tmux", "-L", socket] + args).map(Self.quote).joined(separator: " ")
            guard output else {
                _ = system(line + " </dev/null >/dev/null 2>&1")
                return ""
            }
            guard let pipe = popen(line + " 2>/dev/null", "r") else { return "" }
            var data = Data()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = fread(&buffer, 1, buffer.count, pipe)
                if n <= 0 { break }
                data.append(contentsOf: buffer[0..<n])
            }
            pclose(pipe)
            return String(decoding: data, as: UTF8.self)
        }

        static func quote(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }

        func start(_ command: String) throws {
            try tmux(["new-session", "-d", "-s", session, "-x", "150", "-y", "40", command + "; echo EXITED $?; sleep 30"])
        }

        func keys(_ keys: String...) throws { try tmux(["send-keys", "-t", session] + keys) }

        /// Sends SIGINT to the program running in the pane (as `kill -INT` from another terminal would).
        func interruptProgram() throws {
            let shell = try tmux(["display-message", "-p", "-t", session, "#{pane_pid}"], output: true)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let children = try String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)
            guard let child = children.split(separator: " ").first.flatMap({ Int32($0) }) else {
                throw Tool.ToolError("nothing runs in the pane")
            }
            kill(child, SIGINT)
        }

        /// Types `text` as a person does: one key at a time, with a pause after each.
        func type(_ text: String) async throws {
            for c in text {
                try tmux(["send-keys", "-t", session, "-l", String(c)])
                try await Task.sleep(for: .milliseconds(25))
            }
        }

        var screen: String { (try? tmux(["capture-pane", "-p", "-t", session], output: true)) ?? "" }

        /// Waits until the screen shows `text` (capture-pane drops trailing spaces) (counted `times`), failing the test after 15 s.
        @discardableResult
        func waitFor(_ text: String, times: Int = 1, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
            let end = Date().addingTimeInterval(15)
            while Date() < end {
                let s = screen
                if s.components(separatedBy: text).count - 1 >= times { return s }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("the screen never showed \(text.debugDescription) \(times)×:\n\(screen)", sourceLocation: sourceLocation)
            throw Tool.ToolError("timeout")
        }

        func stop() { _ = try? tmux(["kill-server"]) }

        deinit { stop() }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "needs tmux (scripts/bootstrap.sh --tests)"))
    func inATerminalHistoryCompletionCtrlCAndCtrlDWork() async throws {
        let (fast, fastPorts) = try await BenchTests.serve(1)
        let (slow, slowPorts) = try await BenchTests.serve(1, ["--latency", "3s"])
        defer {
            fast.terminate()
            slow.terminate()
        }
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("repl-state-\(UUID())")
        defer { try? FileManager.default.removeItem(at: state) }
        let command = "env -u MINDALPHA_POOL_HISTFILE XDG_STATE_HOME=\(state.path) \(Tool.binary.path) repl"
            + " --target 127.0.0.1:\(fastPorts[0]) --target 127.0.0.1:\(slowPorts[0]) --timeout 10s"
        let t = Terminal()
        defer { t.stop() }
        try t.start(command)
        try await t.waitFor("targets>")

        // Tab completes a command, then an instance (typed up to where it differs from the other).
        let fastAddress = "127.0.0.1:\(fastPorts[0])"
        let slowAddress = "127.0.0.1:\(slowPorts[0])"
        try t.keys("use \(fastAddress)", "Enter")
        try await t.waitFor("targets@\(fastAddress)>")
        try t.keys("sen", "Tab")
        try await t.waitFor("> send")  // the pane drops trailing spaces
        try t.keys("first", "Enter")
        try await t.waitFor("\(fastAddress)  id ")
        let prefix = (1...slowAddress.count).map { String(slowAddress.prefix($0)) }.first { !fastAddress.hasPrefix($0) }!
        try t.keys("use \(prefix)", "Tab")
        try await t.waitFor("use \(slowAddress)")
        try t.keys("Enter")
        try await t.waitFor("targets@\(slowAddress)>")

        // Ctrl-C cancels the slow request (left alone, it would be answered after 3 s), and the session goes on.
        try t.keys("send slow", "Enter")
        try await Task.sleep(for: .milliseconds(300))
        try t.keys("C-c")
        try await t.waitFor("error (cancelled): request cancelled")
        // Ctrl-C at the prompt clears the line and does not exit; twice changes nothing. Typed, then a pause, as a
        // person does (readline is waiting for the next key when the Ctrl-C comes).
        try await t.type("typed but abandoned")
        try await t.waitFor("> typed but abandoned")
        try await Task.sleep(for: .milliseconds(300))
        try t.keys("C-c")
        try await Task.sleep(for: .milliseconds(300))
        try t.keys("C-c")
        try await t.type("stats")
        try t.keys("Enter")
        try await t.waitFor("2 requests, 1 failed")
        #expect(!t.screen.contains("abandonedstats"))
        // SIGINT from outside (kill -INT) stops a repeat at once too.
        try await t.type("repeat 3 send slow")
        try t.keys("Enter")
        try await Task.sleep(for: .milliseconds(300))
        try t.interruptProgram()
        try await t.waitFor("1 request, 1 failed")
        #expect(!t.screen.contains("EXITED"))

        // Ctrl-D ends it with status 0 — once the prompt is back (readline reading again), as a person waits for it.
        let end = Date().addingTimeInterval(15)
        while Date() < end, t.screen.split(separator: "\n").last(where: { !$0.isEmpty })?.hasSuffix("targets@\(slowAddress)>") != true {
            try await Task.sleep(for: .milliseconds(50))
        }
        try t.keys("C-d")
        try await t.waitFor("EXITED 0")

        // The history file is private, and the next session recalls the last lines.
        let dir = state.appendingPathComponent("mindalpha-pool")
        let file = dir.appendingPathComponent("history")
        let dirMode = try FileManager.default.attributesOfItem(atPath: dir.path)[.posixPermissions] as? Int
        let fileMode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(dirMode == 0o700 && fileMode == 0o600)
        let history = try String(contentsOf: file, encoding: .utf8)
        #expect(history.contains("send slow") && !history.contains("abandoned"))
        t.stop()
        let t2 = Terminal()
        defer { t2.stop() }
        try t2.start(command)
        try await t2.waitFor("targets>")
        try t2.keys("Up")
        try await t2.waitFor("targets> repeat 3 send slow")
        try t2.keys("Up")
        try await t2.waitFor("targets> stats")
        try t2.keys("C-u", "quit", "Enter")
        try await t2.waitFor("EXITED 0")
    }
}
