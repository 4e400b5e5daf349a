import ConsulDevAgent
import Foundation
import MindAlphaBench
import MindAlphaDiscovery
import MindAlphaPool
import TestSupport
import Testing

/// `mindalpha-pool bench`, `report merge` and `demo` as processes, against `serve` on free ports.
@Suite(.serialized) struct BenchTests {
    /// `serve --port 0 --instances n` and its ports.
    static func serve(_ count: Int, _ extra: [String] = []) async throws -> (Tool.Running, [Int]) {
        let server = try Tool.start(["serve", "--port", "0", "--instances", String(count), "--threads", "1"] + extra)
        return (server, try await ServeTests.ports(try await server.lines(count)))
    }

    static func report(_ result: Tool.Result, sourceLocation: SourceLocation = #_sourceLocation) throws -> BenchReport {
        guard result.status == 0 || result.status == 2 else {
            Issue.record("bench exited \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
            throw Tool.ToolError("bench failed")
        }
        return try BenchReport.decode(Data(result.stdout.utf8))
    }

    @Test func closedLoopSharesFollowTheWeightsAndTheJSONHasItsKeys() async throws {
        let (server, ports) = try await Self.serve(3)
        defer { server.terminate() }
        let targets = zip(ports, [100, 200, 300]).flatMap { ["--target", "127.0.0.1:\($0)@\($1)"] }
        let result = try await Tool.run(["bench", "--conns", "4", "--requests", "6000", "--json"] + targets)
        let report = try Self.report(result)
        #expect(report.mode == "closed" && report.requests == 6000 && report.ok == 6000 && report.errorRate == 0)
        #expect(report.rps > 0 && report.latency.p50 > 0 && report.latency.p99 >= report.latency.p50)
        #expect(report.instances.map(\.weight) == [300, 200, 100])
        for row in report.instances { #expect(abs(row.observedShare - row.expectedShare) <= 0.02, "\(row.address)") }
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        // One shape in both modes: what a closed loop lacks is null, not absent.
        #expect(Set(object.keys) == ["rps", "target_rps", "mode", "seconds", "requests", "sent", "ok", "errors", "error_rate", "unfinished",
                                     "dropped", "unplaced", "late", "duplicate", "unknown_id", "in_flight_limit", "latency",
                                     "latency_uncorrected", "instances", "events", "timeline", "histogram", "histogram_uncorrected",
                                     "runs", "interrupted", "client", "connections", "started_at", "ended_at", "plan", "agents", "overlap", "command"])
        for key in ["started_at", "ended_at"] { #expect(BenchReport.date(object[key] as? String ?? "") != nil, "\(key)") }
        #expect(report.plan == BenchReport.Plan(mode: "closed", concurrency: nil, rate: nil, rateRamp: nil, durationSeconds: nil, requests: 6000,
                                                warmupSeconds: 0, timeoutSeconds: 1, conns: 4, agents: 1))
        #expect(report.agents?.map(\.shard) == ["1/1"] && object["overlap"] is NSNull)
        for key in ["target_rps", "in_flight_limit", "latency_uncorrected", "histogram_uncorrected"] {
            #expect(object[key] is NSNull, "\(key) is not null in a closed loop")
        }
        let latency = object["latency"] as! [String: Any]
        #expect(Set(latency.keys) == ["min", "p50", "p90", "p99", "p99_9", "p99_99", "max", "mean"])
        let row = (object["instances"] as! [[String: Any]])[0]
        #expect(Set(row.keys) == ["address", "weight", "expected_share", "observed_share", "requests", "ok", "errors", "unfinished",
                                  "late", "duplicate", "unknown_id", "p50_us", "p99_us", "histogram"])
        let second = (object["timeline"] as! [[String: Any]])[0]
        #expect(Set(second.keys) == ["second", "requests", "ok", "errors", "unfinished", "dropped", "p50_us", "p99_us", "histogram", "instances"])
        #expect(report.timeline.reduce(0) { $0 + $1.requests } == 6000)
        #expect(result.stderr.isEmpty)  // no progress lines when stderr is not a terminal
    }

    @Test func predictionRequestsCountAnswersWithoutScoresAsErrorsAndLatencyShows() async throws {
        let (server, ports) = try await Self.serve(1, ["--latency", "2ms", "--error-rate", "0.2"])
        defer { server.terminate() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "user_id\ncreative_id\n".write(to: dir.appendingPathComponent("columns"), atomically: true, encoding: .utf8)
        try "265366bf\u{2}b1feb7c7\u{1}abc\n".write(to: dir.appendingPathComponent("rows"), atomically: true, encoding: .utf8)
        let report = try Self.report(try await Tool.run([
            "bench", "--target", "127.0.0.1:\(ports[0])", "--conns", "8", "--requests", "2000", "--json",
            "--model", "demo_model", "--features", dir.appendingPathComponent("rows").path,
            "--columns", dir.appendingPathComponent("columns").path,
        ]))
        let invalid = report.errors["invalid"] ?? 0
        #expect(report.requests == 2000)
        #expect(Double(invalid) / 2000 > 0.12 && Double(invalid) / 2000 < 0.28)
        #expect(report.latency.p50 >= 2000)
    }

    @Test func openLoopHoldsTheRateAndReportsBothLatencies() async throws {
        let (server, ports) = try await Self.serve(1)
        defer { server.terminate() }
        let report = try Self.report(try await Tool.run([
            "bench", "--target", "127.0.0.1:\(ports[0])", "--rate", "400", "--duration", "2s", "--json",
        ]))
        #expect(report.mode == "open" && report.targetRps == 400)
        #expect(abs(report.rps - 400) / 400 < 0.03)
        #expect(report.latencyUncorrected != nil && report.histogramUncorrected != nil)
        #expect(report.latency.p50 >= report.latencyUncorrected!.p50)
    }

    @Test func failIfBreachesExitTwoAfterTheReportAndUnknownMetricsAreUsageErrors() async throws {
        let (server, ports) = try await Self.serve(1)
        defer { server.terminate() }
        let target = ["--target", "127.0.0.1:\(ports[0])", "--requests", "500", "--conns", "2"]
        let breached = try await Tool.run(["bench"] + target + ["--fail-if", "p99>1us", "--fail-if", "errors>0.1%"])
        #expect(breached.status == 2)
        #expect(breached.stdout.contains("requests  500"))
        #expect(breached.stderr.contains("--fail-if p99>1us breached"))
        #expect(!breached.stderr.contains("errors>0.1%"))
        let held = try await Tool.run(["bench"] + target + ["--fail-if", "p99>10s", "--fail-if", "rps<1", "--fail-if", "share-deviation>5%"])
        #expect(held.status == 0, "\(held.stderr)")
        let unknown = try await Tool.run(["bench"] + target + ["--fail-if", "p98>1ms"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("unknown metric 'p98'"))
        #expect(unknown.stdout.isEmpty)
    }

    @Test func mergedReportsAddUpToTheirRuns() async throws {
        let (server, ports) = try await Self.serve(2)
        defer { server.terminate() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("merge-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Two hosts' runs at the same time (each starting at the same agreed moment).
        let start = BenchReport.timestamp(Date().addingTimeInterval(2))
        async let first = Tool.run(["bench", "--target", "127.0.0.1:\(ports[0])", "--target", "127.0.0.1:\(ports[1])",
                                    "--duration", "2s", "--conns", "2", "--start-at", start, "--json"])
        async let second = Tool.run(["bench", "--target", "127.0.0.1:\(ports[0])", "--target", "127.0.0.1:\(ports[1])",
                                     "--duration", "2s", "--conns", "1", "--start-at", start, "--json"])
        var reports: [BenchReport] = []
        for (i, result) in try await [first, second].enumerated() {
            try result.stdout.write(to: dir.appendingPathComponent("\(i).json"), atomically: true, encoding: .utf8)
            reports.append(try Self.report(result))
        }
        let total = reports[0].requests + reports[1].requests
        let merged = try Self.report(try await Tool.run(["report", "merge", dir.appendingPathComponent("0.json").path,
                                                   dir.appendingPathComponent("1.json").path, "--json"]))
        #expect(merged.runs == 2 && merged.requests == total && merged.ok == total)
        #expect(merged.histogram.reduce(0) { $0 + $1[1] } == UInt64(total))
        #expect(merged.instances.reduce(0) { $0 + $1.requests } == total)
        #expect(merged.latency.max == max(reports[0].latency.max, reports[1].latency.max))
        // Started together: nearly all of both runs overlap, and the rate is the sum over that window.
        let overlap = try #require(merged.overlap)
        #expect(overlap.seconds > 1.8 && overlap.share > 0.9, "\(overlap)")
        #expect(abs(merged.rps - (reports[0].rps + reports[1].rps)) <= 0.1 * merged.rps, "\(merged.rps) vs \(reports[0].rps) + \(reports[1].rps)")
        let text = try await Tool.run(["report", "merge", dir.appendingPathComponent("0.json").path])
        func grouped(_ n: Int) -> String {
            let digits = String(n)
            return digits.enumerated().map { i, c in (i > 0 && (digits.count - i) % 3 == 0 ? "," : "") + String(c) }.joined()
        }
        #expect(text.status == 0 && text.stdout.contains("requests  \(grouped(reports[0].requests))"), "\(text.stdout)")
        let bad = try await Tool.run(["report", "merge", "/dev/null"])
        #expect(bad.status == 1 && bad.stderr.contains("is not a bench --json report"))
    }

    @Test func bothEnginesAndTwoDirectThreadsCarryTheSameLoadWithNothingLost() async throws {
        let (server, ports) = try await Self.serve(2)
        defer { server.terminate() }
        let targets = zip(ports, [100, 300]).flatMap { ["--target", "127.0.0.1:\($0)@\($1)"] }
        for engine in [["--engine", "nio"], ["--engine", "direct", "--threads", "2"]] {
            let result = try await Tool.run(["bench", "--conns", "3", "--requests", "4000", "--json"] + engine + targets)
            let report = try Self.report(result)
            #expect(report.requests == 4000 && report.ok == 4000 && report.errors.isEmpty, "\(engine): \(report.errors)")
            #expect(report.connections?.open == 6 && report.connections?.failed == 0, "\(engine)")
            for row in report.instances { #expect(abs(row.observedShare - row.expectedShare) <= 0.02, "\(engine) \(row.address)") }
        }
        // The two threads share the connections: each carries load (its CPU time grows) while the run goes on.
        let bench = try Tool.start(["bench", "--conns", "3", "--duration", "3s", "--engine", "direct", "--threads", "2", "--json"] + targets)
        let pid = bench.process.processIdentifier
        func loopTicks() -> [String: Int] {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
            var ticks: [String: Int] = [:]
            for task in tasks {
                guard let comm = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8),
                      comm.hasPrefix("pool-direct-"),
                      let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { continue }
                // utime and stime: the 14th and 15th fields, the 12th and 13th after the name's ")".
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                ticks[comm.trimmingCharacters(in: .whitespacesAndNewlines)] = Int(fields[11])! + Int(fields[12])!
            }
            return ticks
        }
        var ticks: [String: Int] = [:]
        for _ in 0..<250 where bench.process.isRunning {
            ticks = loopTicks()
            if ticks.count == 2, ticks.values.allSatisfy({ $0 >= 2 }) { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(ticks.keys.sorted() == ["pool-direct-0", "pool-direct-1"] && ticks.values.allSatisfy { $0 >= 2 }, "\(ticks)")
        try await bench.wait(timeout: 30)
        #expect(bench.process.terminationStatus == 0, "\(bench.stderr)")
    }

    @Test func anInstanceKilledMidRunIsReportedAndTheRunCompletes() async throws {
        let (steady, steadyPorts) = try await Self.serve(1)
        let (doomed, doomedPorts) = try await Self.serve(1)
        defer { steady.terminate() }
        let bench = try Tool.start(["bench", "--target", "127.0.0.1:\(steadyPorts[0])", "--target", "127.0.0.1:\(doomedPorts[0])",
                                    "--conns", "4", "--duration", "3s", "--json"])
        try await Task.sleep(for: .seconds(1))
        kill(doomed.process.processIdentifier, SIGKILL)
        try await bench.wait(timeout: 30)
        #expect(bench.process.terminationStatus == 0)
        let report = try BenchReport.decode(Data(bench.stdout.utf8))
        let dead = try #require(report.instances.first { $0.address == "127.0.0.1:\(doomedPorts[0])" })
        let alive = try #require(report.instances.first { $0.address == "127.0.0.1:\(steadyPorts[0])" })
        #expect(report.events.contains { $0.kind == "ejected" && $0.instance == "127.0.0.1:\(doomedPorts[0])" })
        #expect(alive.requests > dead.requests && alive.errors == 0, "\(alive) \(dead) \(report.errors) \(report.events.map(\.message))")
        #expect(report.errors.keys.allSatisfy { ["closed", "connect", "unavailable"].contains($0) }, "\(report.errors)")
    }

    @Test func aDeadFleetIsReportedAndExitsOneWithoutSpinning() async throws {
        let port = try await ScriptedServer.closedPort()
        let result = try await Tool.run(["bench", "--target", "127.0.0.1:\(port)", "--conns", "2", "--duration", "1s", "--json"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no request succeeded: 127.0.0.1:\(port): cannot connect (connection refused)"))
        let report = try BenchReport.decode(Data(result.stdout.utf8))
        #expect(report.ok == 0 && report.requests < 2_000)  // retried every 10 ms per slot, not spun on
    }

    @Test func instancesJoiningAndLeavingConsulMidRunAreFollowedAndReported() async throws {
        let (server, ports) = try await Self.serve(2)
        defer { server.terminate() }
        try await withDevAgent { agent, client in
            func register(_ port: Int, weight: Int = 100) async throws {
                try await client.register(ServiceRegistration(
                    id: "ms-\(port)", name: "ms-serving", address: "127.0.0.1", port: port, weight: weight, check: nil))
            }
            try await register(ports[0])
            let started = Date()
            let bench = try Tool.start(["bench", "--service", "ms-serving", "--consul", agent.address, "--conns", "2",
                                        "--duration", "4s", "--json"])
            try await Task.sleep(for: .milliseconds(1200))
            try await register(ports[1])
            let joined = Date().timeIntervalSince(started)
            try await Task.sleep(for: .milliseconds(500))
            try await register(ports[1], weight: 300)
            try await Task.sleep(for: .milliseconds(500))
            try await client.deregister(serviceID: "ms-\(ports[0])")
            try await bench.wait(timeout: 30)
            #expect(bench.process.terminationStatus == 0, "\(bench.stderr)")
            let report = try BenchReport.decode(Data(bench.stdout.utf8))
            let events = report.events.map { "\($0.at) \($0.kind) \($0.instance ?? "-") \($0.message)" }
            let join = try #require(report.events.first { $0.kind == "joined" && $0.instance == "127.0.0.1:\(ports[1])" }, "\(events)")
            // Times to the millisecond from the window's start, not rounded to the next second (the bench process
            // started before `started` was read plus its start-up, so the join is at most `joined` in).
            #expect(join.at > 0.5 && join.at <= joined + 0.05, "\(events)")
            #expect(join.at != join.at.rounded())
            #expect(report.events.contains { $0.kind == "reweighted" && $0.message.hasSuffix("re-weighted 100 → 300") }, "\(events)")
            #expect(report.events.contains { $0.kind == "left" && $0.instance == "127.0.0.1:\(ports[0])" }, "\(events)")
            #expect(report.events.map(\.at) == report.events.map(\.at).sorted())
            #expect(report.errors.isEmpty)  // nothing in flight was lost on any change
            #expect(report.instances.allSatisfy { $0.requests > 0 })
            #expect(report.instances.first { $0.address == "127.0.0.1:\(ports[1])" }?.weight == 300)
            Self.expectAddsUp(report)
        }
    }

    @Test func anInterruptWhileConnectingEndsAtOnceWithAnEmptyReport() async throws {
        let consul = try await ScriptedServer.mute()  // accepts, never answers
        let bench = try Tool.start(["bench", "--service", "ms-serving", "--consul", "127.0.0.1:\(consul.port)", "--json"])
        while consul.connections == 0, bench.process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        let signalled = Date()
        kill(bench.process.processIdentifier, SIGINT)
        try await bench.wait(timeout: 10)
        #expect(Date().timeIntervalSince(signalled) < 0.5)
        #expect(bench.process.terminationStatus == 130)
        let report = try BenchReport.decode(Data(bench.stdout.utf8))
        #expect(report.interrupted && report.requests == 0)
        #expect(report.events.first?.message == "interrupted while connecting: nothing was measured")
        await consul.stop()
    }

    @Test func demoRunsEveryStepAndExitsZero() async throws {
        let result = try await Tool.run(["demo", "--duration", "1s"], timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        for heading in ["== mindalpha-pool discover", "== mindalpha-pool schedule", "== mindalpha-pool bench"] {
            #expect(result.stdout.contains(heading))
        }
        #expect(result.stdout.contains("50.0%"))  // the weight-300 instance's share
    }
}
