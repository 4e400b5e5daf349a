import ConsulDevAgent
import Foundation
import MindAlphaBench
import MindAlphaDiscovery
import MindAlphaPool
import TestSupport
import Testing

/// Inputs that used to crash, hang or mislead: each gets one clear line, a documented exit code, and no trace.
@Suite struct HardeningTests {
    /// No Swift runtime message, backtrace or build path ever reaches the user.
    static func expectClean(_ r: Tool.Result, sourceLocation: SourceLocation = #_sourceLocation) {
        for marker in ["Fatal error", "Backtrac", "Swift runtime failure", ".build/", "checkouts/", "Error(", "CodingKeys"] {
            #expect(!r.stderr.contains(marker), "\(marker) in \(r.stderr)", sourceLocation: sourceLocation)
        }
    }

    @Test func aConsulPortOutOfRangeIsAUsageErrorInEveryCommand() async throws {
        let said = "consul address '127.0.0.1:99999': the port '99999' is not a number from 1 to 65535"
        for args in [["discover", "-s", "S"], ["bench", "-s", "S", "-d", "1s"], ["schedule", "-s", "S"], ["repl", "-s", "S"],
                     ["serve", "--port", "0", "--register", "-s", "S"]] {
            let flag = try await Tool.run(args + ["--consul", "127.0.0.1:99999"], input: "")
            #expect(flag.status == 64 && flag.stderr.hasPrefix("mindalpha-pool: \(said)"), "\(args): \(flag.stderr)")
            #expect(!flag.stdout.contains("listening"))  // serve refuses before it listens
            Self.expectClean(flag)
            let env = try await Tool.run(args, environment: ["CONSUL_HTTP_ADDR": "http://127.0.0.1:70000"], input: "")
            #expect(env.status == 64 && env.stderr.contains("the port '70000' is not a number from 1 to 65535"), "\(args): \(env.stderr)")
            Self.expectClean(env)
        }
        for (address, words) in [("127.0.0.1:", "the port '' is not"), (":8500", "names no host"), ("::1", "in brackets")] {
            let r = try await Tool.run(["discover", "-s", "S", "--consul", address])
            #expect(r.status == 64 && r.stderr.contains(words), "\(address): \(r.stderr)")
        }
    }

    @Test func aReaderThatGoesAwayEndsTheProgramQuietly() async throws {
        // The REPL writes far more than a pipe holds; `head` takes two lines and leaves.
        let script = String(repeating: "help\n", count: 500)
        let repl = try await Tool.shell("printf '\(script.replacingOccurrences(of: "\n", with: "\\n"))' | \"$BIN\" repl --target 127.0.0.1:9 | head -2; echo \"status=${PIPESTATUS[1]}\" >&2")
        #expect(repl.stdout.split(separator: "\n").count == 2)
        #expect(repl.stderr.contains("status=141"), "\(repl.stderr)")
        Self.expectClean(repl)
        // discover --watch: its reader closes, then a change comes.
        try await withDevAgent { agent, client in
            func register(_ n: Int) async throws {
                try await client.register(ServiceRegistration(id: "ms-\(n)", name: "ms", address: "127.0.0.1", port: 9000 + n, weight: 100, check: nil))
            }
            try await register(0)
            let watch = try Tool.start(["discover", "-s", "ms", "--consul", agent.address, "--watch"])
            _ = try await watch.lines(1)  // the table has come
            try watch.closeStdout()
            var n = 1
            while watch.process.isRunning, n < 200 {  // changes until its next line meets the closed pipe
                try await register(n)
                n += 1
                try await Task.sleep(for: .milliseconds(50))
            }
            try await watch.wait()
            #expect(watch.process.terminationStatus == 141 && watch.process.terminationReason == .exit)
            let stderr = watch.stderr
            #expect(!stderr.contains("Fatal") && !stderr.contains("Broken pipe"), "\(stderr)")
        }
    }

    @Test func reportMergeReadsOnlyWhatAReportCanBe() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hardening-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let directory = try await Tool.run(["report", "merge", dir.path])
        #expect(directory.status == 1 && directory.stderr == "mindalpha-pool: '\(dir.path)' is a directory, not a bench --json report\n")
        let endless = try await Tool.run(["report", "merge", "/dev/zero"], timeout: 20)
        #expect(endless.status == 1 && endless.stderr.contains("is larger than 64 MiB"))
        for (json, words) in [(#"{"mode": "closed"}"#, "the key 'rps' is missing"), (#"{"rps": "fast"}"#, "'rps' is not a number"),
                              ("not json", "it is not JSON")] {
            let file = dir.appendingPathComponent("bad.json")
            try json.write(to: file, atomically: true, encoding: .utf8)
            let r = try await Tool.run(["report", "merge", file.path])
            #expect(r.status == 1 && r.stderr.contains(words), "\(r.stderr)")
            Self.expectClean(r)
        }
    }

    @Test func reportMergeRefusesMixedModesAndCountsAFileOnce() async throws {
        let (server, ports) = try await BenchTests.serve(1)
        defer { server.terminate() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("merge-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let closed = dir.appendingPathComponent("closed.json"), open = dir.appendingPathComponent("open.json")
        try await Tool.run(["bench", "--target", "127.0.0.1:\(ports[0])", "-n", "200", "--conns", "2", "--json"]).stdout
            .write(to: closed, atomically: true, encoding: .utf8)
        try await Tool.run(["bench", "--target", "127.0.0.1:\(ports[0])", "-n", "200", "--rate", "1k", "--conns", "2", "--json"]).stdout
            .write(to: open, atomically: true, encoding: .utf8)
        let mixed = try await Tool.run(["report", "merge", closed.path, open.path])
        #expect(mixed.status == 1 && mixed.stderr.contains("cannot merge closed-loop and open-loop runs"))
        let twice = try await Tool.run(["report", "merge", closed.path, closed.path, "--json"])
        #expect(twice.status == 0 && twice.stderr.contains("is the same file as"))
        #expect(try BenchReport.decode(Data(twice.stdout.utf8)).requests == 200)
        let copy = dir.appendingPathComponent("copy.json")
        try FileManager.default.copyItem(at: closed, to: copy)
        let twins = try await Tool.run(["report", "merge", closed.path, copy.path])
        #expect(twins.status == 0 && twins.stderr.contains("is identical to"))
    }

    @Test func tlsAgainstPlainHTTPSaysToUseHTTP() async throws {
        try await withDevAgent { agent, _ in
            let r = try await Tool.run(["discover", "-s", "ms", "--consul", "https://\(agent.address)"])
            #expect(r.status == 69)
            #expect(r.stderr == "mindalpha-pool: consul at \(agent.address) unreachable: TLS failed: the server does not speak TLS — use http:// (or unset CONSUL_HTTP_SSL)\n")
            Self.expectClean(r)
        }
    }

    @Test func aPortInUseAndAnUnresolvableHostAreSaidInWords() async throws {
        let (first, ports) = try await BenchTests.serve(1)
        defer { first.terminate() }
        let taken = try await Tool.run(["serve", "--port", String(ports[0])], timeout: 10)
        #expect(taken.status == 1 && taken.stderr.contains("cannot listen on 127.0.0.1:\(ports[0]): the address is in use"))
        Self.expectClean(taken)
        let agent = try await Tool.run(["consul-dev", "--listen", "127.0.0.1:\(ports[0])"], timeout: 10)
        #expect(agent.status != 0 && agent.stderr.contains("the address is in use"), "\(agent.stderr)")
        // An empty label: the resolver refuses the name itself, so no query leaves for the machine's DNS server (a
        // `.invalid` name would be asked of it: a packet to an address that is not the loopback).
        let nohost = try await Tool.run(["bench", "--target", "nohost..invalid:9000", "-d", "1s"])
        #expect(nohost.status == 64 && nohost.stderr.hasPrefix("mindalpha-pool: --target: cannot resolve 'nohost..invalid'"))
        Self.expectClean(nohost)
    }

    @Test func aForbiddenTokenNamesThePermissionAndExitsOneEverywhere() async throws {
        try await withDevAgent(aclToken: "right") { agent, _ in
            let register = try await Tool.run(["serve", "--port", "0", "--register", "-s", "ms", "--consul", agent.address, "--token", "wrong"], timeout: 20)
            #expect(register.status == 1, "\(register.stderr)")
            #expect(register.stderr.contains("the ACL token lacks service:write"))
            let discover = try await Tool.run(["discover", "-s", "ms", "--consul", agent.address, "--token", "wrong"])
            #expect(discover.status == 1 && discover.stderr.contains("the ACL token lacks service:read"))
            let bench = try await Tool.run(["bench", "-s", "ms", "--consul", agent.address, "--token", "wrong", "-d", "1s"])
            #expect(bench.status == 1 && bench.stderr.contains("the ACL token lacks service:read"), "\(bench.stderr)")
            for r in [register, discover, bench] { #expect(!r.stderr.contains("wrong")) }  // the token is never shown
        }
    }

    @Test func flagsThatCannotGoTogetherAreUsageErrors() async throws {
        let target = ["bench", "--target", "127.0.0.1:9"]
        let body = "give --payload-size, --payload-file, --payload-hex or --model, not several: each sets the whole body"
        for (flags, words) in [(["--payload-hex", "0a1b", "--payload-size", "10"], body),
                               (["--model", "m", "--payload-size", "10"], body),
                               (["--features", "rows.csv"], "--features needs --model (they build prediction requests)"),
                               (["--columns", "names.txt"], "--columns needs --model (they build prediction requests)"),
                               (["-d", "1s", "-n", "5"], "give --duration or --requests, not both"),
                               (["--rate-ramp", "1k"], "--rate-ramp needs --rate (the rate it ramps to)"),
                               (["--service", "ms"], "give --target or --service, not both")] {
            let r = try await Tool.run(target + flags)
            #expect(r.status == 64 && r.stderr.hasPrefix("mindalpha-pool: \(words)\n"), "\(flags): \(r.stderr)")
            // The same words in the command's help: the rule is stated where it is checked.
            #expect(try await Tool.run(["bench", "--help"]).stdout.contains("\n  \(words)\n"))
        }
        // A service from the environment gives way to --target: only the command line breaks a rule.
        let fromEnvironment = try await Tool.run(target + ["--requests", "1"], environment: ["MINDALPHA_SERVICE": "ms"])
        #expect(fromEnvironment.status != 64, "\(fromEnvironment.stderr)")
        let wait = try await Tool.run(["discover", "-s", "S", "--wait", "1m"])
        #expect(wait.status == 64 && wait.stderr.contains("--wait needs --watch"))
        let long = try await Tool.run(["discover", "-s", "S", "--watch", "--wait", "20m"])
        #expect(long.status == 64 && long.stderr.contains("up to 10m"))
        let list = try await Tool.run(["discover", "--list-services", "--json"])
        #expect(list.status == 64 && list.stderr.contains("--list-services goes without --watch, --json, --all or --strict"))
        let listen = try await Tool.run(["serve", "--listen", "127.0.0.1:0", "--port", "0"])
        #expect(listen.status == 64 && listen.stderr.contains("--listen goes without --port, --instances or --host"))
        let weights = try await Tool.run(["schedule", "--weights", "a=1", "--target", "127.0.0.1:9"])
        #expect(weights.status == 64 && weights.stderr.contains("give --weights, --target or --service, not several"))
    }

    @Test func durationsAndNumbersHaveOneSyntaxEverywhere() async throws {
        let (server, ports) = try await BenchTests.serve(1)
        defer { server.terminate() }
        let target = ["bench", "--target", "127.0.0.1:\(ports[0])", "--conns", "1", "--json"]
        let r = try BenchTests.report(try await Tool.run(target + ["-n", "50", "--timeout", "1m30s", "--payload-size", "1k", "--fail-if", "rps<1k/s"]))
        #expect(r.ok == 50)
        let tooLarge = try await Tool.run(target + ["--duration", "99999999h"])
        #expect(tooLarge.status == 64 && tooLarge.stderr.contains("'99999999h' is too large"))
        let breached = try await Tool.run(target + ["-n", "50", "--fail-if", "rps>1k"])
        #expect(breached.status == 0 || breached.status == 2)  // parsed either way: no usage error
    }
}

extension HardeningTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script (util-linux) for a terminal"))
    func aDumbTerminalGetsNoEscapeSequences() async throws {
        let (server, ports) = try await BenchTests.serve(1)
        defer { server.terminate() }
        // `script` gives bench a terminal; the progress line shows after a second.
        func run(term: String) async throws -> String {
            let r = try await Tool.shell("TERM=\(term) script -qfec '\"$BIN\" bench --target 127.0.0.1:\(ports[0]) --conns 1 -d 1500ms' /dev/null")
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout
        }
        #expect(try await run(term: "xterm").contains("\u{1B}["))  // a capable terminal gets the progress line
        #expect(!(try await run(term: "dumb")).contains("\u{1B}"))
    }
}

extension HardeningTests {
    @Test func theREPLReadsABodyFileOnlyAsFarAsAFrameHolds() async throws {
        let r = try await Tool.run(["repl", "--target", "127.0.0.1:9"], input: "send @/dev/zero\nsend @/tmp\n", timeout: 30)
        #expect(r.status == 1)
        #expect(r.stdout.contains("'/dev/zero' is larger than a request can carry"))
        #expect(r.stdout.contains("'/tmp' is a directory, not a body"))
        Self.expectClean(r)
    }
}
