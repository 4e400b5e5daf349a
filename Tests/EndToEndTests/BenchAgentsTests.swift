import ConsulDevAgent
import Foundation
import MindAlphaBench
import MindAlphaDiscovery
import MindAlphaPool
import MindAlphaServer
import TestSupport
import Testing

/// Load from several agents: `bench --coordinate` processes meeting in consul-dev's KV store, `--shard` with
/// `--start-at`, and `report merge` lining their reports up by the wall clock.
extension BenchTests {
    /// Three servers in this process (their answered counts are the truth) registered in a dev agent as ms-serving.
    static func agentFleet(_ body: (ConsulDevAgent, [ReferenceServer]) async throws -> Void) async throws {
        var servers: [ReferenceServer] = []
        for _ in 0..<3 {
            servers.append(try await ReferenceServer.start(ServerConfiguration(listen: [.init(host: "127.0.0.1", port: 0)], threads: 1)))
        }
        try await withDevAgent { agent, client in
            for server in servers {
                let port = server.addresses[0].port!
                try await client.register(ServiceRegistration(id: "ms-\(port)", name: "ms-serving", address: "127.0.0.1", port: port, weight: 100, check: nil))
            }
            try await body(agent, servers)
        }
        for server in servers { try await server.shutdown() }
    }

    static func answered(_ servers: [ReferenceServer]) -> Int { servers.reduce(0) { $0 + $1.stats.snapshot.answered } }

    static func agent(_ agent: ConsulDevAgent, _ extra: [String]) throws -> Tool.Running {
        try Tool.start(["bench", "--service", "ms-serving", "--consul", agent.address, "--conns", "3", "--json", "--quiet"] + extra)
    }

    @Test func threeCoordinatedAgentsStartTogetherAndTheirMergedCountIsWhatTheServersAnswered() async throws {
        try await Self.agentFleet { agent, servers in
            let agents = try (0..<3).map { _ in try Self.agent(agent, ["--duration", "2s", "--coordinate", "run-1", "--agents", "3"]) }
            var reports: [BenchReport] = []
            for a in agents {
                try await a.wait(timeout: 90)
                reports.append(try Self.report(Tool.Result(status: a.process.terminationStatus, stdout: a.stdout, stderr: a.stderr)))
            }
            // Each took its own shard, and all started at the agreed moment (by their own clocks, one machine here).
            let rows = reports.compactMap { $0.agents?.first }
            #expect(Set(rows.map(\.shard)) == ["1/3", "2/3", "3/3"])
            #expect(Set(rows.compactMap(\.agreedStart)).count == 1)
            let starts = reports.compactMap { $0.startedAt.flatMap(BenchReport.date) }
            #expect(starts.count == 3)
            let spread = starts.max()!.timeIntervalSince(starts.min()!)
            #expect(spread < 0.050, "the agents started \(spread * 1000) ms apart")
            // Each opened its part of --conns 3 per instance: one each.
            #expect(reports.allSatisfy { $0.connections?.wanted == 3 }, "\(reports.map { $0.connections?.wanted ?? -1 })")
            #expect(reports.allSatisfy { $0.plan?.conns == 3 && $0.plan?.agents == 3 })

            // The merge from Consul: every request the servers answered, and the rate over the shared window.
            let merge = try await Tool.run(["report", "merge", "--consul", agent.address, "--run", "run-1", "--json"])
            let merged = try Self.report(merge)
            #expect(merge.stderr.isEmpty, "\(merge.stderr)")
            #expect(merged.runs == 3 && merged.requests == reports.reduce(0) { $0 + $1.requests } && merged.errors.isEmpty)
            #expect(merged.requests == Self.answered(servers), "merged \(merged.requests), the servers answered \(Self.answered(servers))")
            let overlap = try #require(merged.overlap)
            #expect(overlap.seconds > 1.9 && overlap.share > 0.97, "\(overlap)")
            let inside = reports.reduce(0.0) { $0 + Double($1.timeline.reduce(0) { $0 + $1.requests }) }
            #expect(abs(merged.rps - inside / overlap.seconds) <= 0.03 * merged.rps, "\(merged.rps) vs \(inside / overlap.seconds)")
            #expect(merged.agents?.count == 3 && merged.agents!.allSatisfy { ($0.outsideSeconds ?? 1) < 0.05 })

            // The same run ID again: its shards are taken, said at once.
            let again = try await Tool.run(["bench", "--service", "ms-serving", "--consul", agent.address, "--duration", "1s",
                                            "--coordinate", "run-1", "--agents", "3"])
            #expect(again.status == 1 && again.stderr.contains("all 3 shards of run run-1 are taken already"), "\(again.stderr)")
        }
    }

    @Test func agentsThatNeverArriveEndTheWaitWithExit69NamingThem() async throws {
        try await Self.agentFleet { agent, _ in
            let alone = try await Tool.run(["bench", "--service", "ms-serving", "--consul", agent.address, "--duration", "1s",
                                            "--coordinate", "run-3", "--shard", "2/3", "--coordinate-timeout", "500ms"])
            #expect(alone.status == 69, "\(alone.stderr)")
            #expect(alone.stderr.contains("only 1 of 3 agents joined run run-3 within 500ms (missing: shards 1/3, 3/3): start the others, or lower --agents"), "\(alone.stderr)")
            // A Consul that does not answer is said as such, before anything is claimed.
            let port = try await ScriptedServer.closedPort()
            let nowhere = try await Tool.run(["bench", "--service", "ms-serving", "--consul", "127.0.0.1:\(port)", "--duration", "1s",
                                              "--coordinate", "run-4", "--agents", "2"])
            #expect(nowhere.status == 69 && nowhere.stderr.contains("unreachable"), "\(nowhere.stderr)")
            // Options that do not go together are usage errors.
            let both = try await Tool.run(["bench", "--target", "127.0.0.1:1", "--coordinate", "x", "--agents", "2", "--start-at", "2026-12-02T10:00:00Z"])
            #expect(both.status == 64, "\(both.stderr)")
            let tooFew = try await Tool.run(["bench", "--target", "127.0.0.1:1", "--shard", "1/3", "--concurrency", "2"])
            #expect(tooFew.status == 64 && tooFew.stderr.contains("--concurrency 2 cannot be split over 3 agents"), "\(tooFew.stderr)")
            let badShard = try await Tool.run(["bench", "--target", "127.0.0.1:1", "--shard", "4/3"])
            #expect(badShard.status == 64 && badShard.stderr.contains("shard 4 does not exist in 3"), "\(badShard.stderr)")
        }
    }

    @Test func anAgentThatStartsLateIsReportedOutsideTheSharedWindow() async throws {
        try await Self.agentFleet { agent, servers in
            let at = Date().addingTimeInterval(2)
            let late = at.addingTimeInterval(1)
            let agents = try (1...3).map { i in
                try Self.agent(agent, ["--duration", "2s", "--shard", "\(i)/3", "--start-at", BenchReport.timestamp(i == 3 ? late : at)])
            }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agents-\(UUID())")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            var files: [String] = []
            var reports: [BenchReport] = []
            for (i, a) in agents.enumerated() {
                try await a.wait(timeout: 90)
                let file = dir.appendingPathComponent("\(i + 1).json").path
                try a.stdout.write(toFile: file, atomically: true, encoding: .utf8)
                files.append(file)
                reports.append(try Self.report(Tool.Result(status: a.process.terminationStatus, stdout: a.stdout, stderr: a.stderr)))
            }
            let merged = try Self.report(try await Tool.run(["report", "merge", "--json"] + files))
            let overlap = try #require(merged.overlap)
            #expect(abs(overlap.seconds - 1) < 0.1, "\(overlap)")
            let outside = try #require(merged.agents?.map { $0.outsideSeconds ?? -1 })
            #expect(outside.count == 3 && outside.allSatisfy { abs($0 - 1) < 0.1 }, "\(outside)")
            #expect(merged.requests == Self.answered(servers))
            // The rate is each agent's load inside the shared second (the first two's second second, the late one's
            // first), not every request over the longest run.
            let inside = Double(reports[0].timeline[1].requests + reports[1].timeline[1].requests + reports[2].timeline[0].requests)
            #expect(abs(merged.rps - inside) <= 0.05 * inside, "\(merged.rps) vs \(inside)")
            let text = try await Tool.run(["report", "merge"] + files)
            #expect(text.status == 0 && text.stdout.contains(String(format: "shared %.2fs", overlap.seconds)) && text.stdout.contains("shard 3/3"), "\(text.stdout)")
            #expect(text.stdout.contains("outside it"))
            // A report given twice is counted once, and said.
            let twice = try await Tool.run(["report", "merge", files[0], files[1], files[2], files[0]])
            #expect(twice.status == 0 && twice.stderr.contains("counted once"), "\(twice.stderr)")
        }
    }

    @Test func anAgentThatDiesMidRunIsNamedByTheMerge() async throws {
        try await Self.agentFleet { agent, servers in
            let agents = try (1...3).map { i in
                try Self.agent(agent, ["--duration", "3s", "--coordinate", "run-2", "--shard", "\(i)/3"])
            }
            // Once the load runs (the servers answer), the second agent dies without a word.
            let deadline = Date().addingTimeInterval(60)
            while Self.answered(servers) < 1_000, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            kill(agents[1].process.processIdentifier, SIGKILL)
            for a in agents { try await a.wait(timeout: 90) }
            let merge = try await Tool.run(["report", "merge", "--consul", agent.address, "--run", "run-2", "--json"])
            #expect(merge.status == 1, "\(merge.stderr)")
            #expect(merge.stderr.contains("shard 2/3") && merge.stderr.contains("sent no report"), "\(merge.stderr)")
            #expect(merge.stderr.contains("the merged figures are 2 of 3 agents' load"), "\(merge.stderr)")
            let merged = try BenchReport.decode(Data(merge.stdout.utf8))
            #expect(merged.runs == 2 && Set(merged.agents?.map(\.shard) ?? []) == ["1/3", "3/3"])
        }
    }
}
