import Foundation
@testable import MindAlphaBench
import MindAlphaPool
import NIOConcurrencyHelpers
import Testing

/// Shards that add up to the whole, reports lined up by the wall clock, comparisons, and the coordination steps
/// over a store in memory.
@Suite struct ShardAndMergeTests {
    @Test func shardsAddUpToTheWholeAndBadOnesSayWhatToWrite() throws {
        for total in [1, 2, 3, 10, 90, 1_001] {
            for n in 1...7 {
                let parts = try (1...n).map { try Shard(index: $0, count: n).part(of: total) }
                #expect(parts.reduce(0, +) == total && parts.max()! - parts.min()! <= 1, "\(total) over \(n): \(parts)")
            }
        }
        #expect(try Shard(parsing: "2/3") == Shard(index: 2, count: 3))
        #expect(try Shard(parsing: "2/3").part(of: 300_000.0) == 100_000)
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "1/1001", "-1/3", "1/3/4"] {
            #expect(throws: ShardError.self, "\(bad)") { try Shard(parsing: bad) }
        }
        #expect((try? Shard(parsing: "4/3")).map { "\($0)" } == nil)
        do { _ = try Shard(parsing: "4/3") } catch { #expect(error.description == "shard 4 does not exist in 3: they are numbered 1 to 3") }
    }

    @Test func aPlanSplitsItsCountsAndRatesAndRefusesCountsTooSmall() throws {
        let closed = LoadPlan(mode: .closed(concurrency: 10), stop: .requests(1_000))
        let parts = try (1...3).map { try closed.part(for: Shard(index: $0, count: 3)) }
        #expect(parts.map(\.mode) == [.closed(concurrency: 4), .closed(concurrency: 3), .closed(concurrency: 3)])
        #expect(parts.map(\.stop) == [.requests(334), .requests(333), .requests(333)])
        let open = LoadPlan(mode: .open(rate: 30_000, from: 3_000), stop: .duration(.seconds(60)), warmup: .seconds(2))
        let part = try open.part(for: Shard(index: 3, count: 3))
        #expect(part.mode == .open(rate: 10_000, from: 1_000) && part.stop == .duration(.seconds(60)) && part.warmup == .seconds(2))
        #expect(throws: ShardError.self) { try LoadPlan(mode: .closed(concurrency: 2), stop: .duration(.seconds(1))).part(for: Shard(index: 1, count: 3)) }
        #expect(throws: ShardError.self) { try LoadPlan(mode: .closed(concurrency: 9), stop: .requests(2)).part(for: Shard(index: 1, count: 3)) }
        #expect(try closed.part(for: .whole) == closed)
    }

    /// A run of `seconds` whole seconds starting at `start`, `perSecond` requests finishing in each.
    static func run(start: Date, seconds: Int, perSecond: Int, shard: String, plan: BenchReport.Plan? = nil) -> BenchReport {
        var r = BenchReportTests.report(ok: perSecond * seconds, seconds: seconds)
        r.timeline = (0..<seconds).map { n in
            BenchReport.TimelineSecond(second: n, requests: perSecond, ok: perSecond, errors: 0, unfinished: 0, dropped: 0,
                                       p50Us: 1000, p99Us: 1000, histogram: [[1_000_000, UInt64(perSecond)]], instances: [])
        }
        r.startedAt = BenchReport.timestamp(start)
        r.endedAt = BenchReport.timestamp(start.addingTimeInterval(Double(seconds)))
        r.plan = plan
        r.agents = [BenchReport.Agent(shard: shard, runID: "r", host: "h\(shard)", pid: 1, startedAt: r.startedAt, endedAt: r.endedAt,
                                      seconds: Double(seconds), requests: r.requests, rps: r.rps)]
        return r
    }

    @Test func theRateIsTakenOverTheWindowAllRunsShareAndTheRestIsSaid() {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        // Two agents from t0 for 4 s at 1,000/s; a third from t0+2 s for 4 s at 500/s.
        let reports = [
            Self.run(start: t0, seconds: 4, perSecond: 1_000, shard: "1/3"),
            Self.run(start: t0, seconds: 4, perSecond: 1_000, shard: "2/3"),
            Self.run(start: t0.addingTimeInterval(2), seconds: 4, perSecond: 500, shard: "3/3"),
        ]
        let m = BenchReport.merged(reports)
        #expect(m.overlap?.seconds == 2 && m.overlap?.startedAt == BenchReport.timestamp(t0.addingTimeInterval(2)))
        #expect(m.overlap?.share == 0.5)  // 2 s shared of each run's 4
        #expect(m.rps == 2_500)  // 1,000 + 1,000 + 500 over the shared 2 s, not 10,000 requests over the longest 4 s
        #expect(m.requests == 10_000 && m.seconds == 2)
        #expect(m.agents?.map { $0.outsideSeconds } == [2, 2, 2])
        // The third run's seconds land two seconds on in the merged timeline.
        #expect(m.timeline.map(\.requests) == [2_000, 2_000, 2_500, 2_500, 500, 500])
        #expect(m.startedAt == BenchReport.timestamp(t0) && m.endedAt == BenchReport.timestamp(t0.addingTimeInterval(6)))

        // A shift of part of a second counts the seconds in proportion.
        let offset = BenchReport.merged([
            Self.run(start: t0, seconds: 2, perSecond: 1_000, shard: "1/2"),
            Self.run(start: t0.addingTimeInterval(0.5), seconds: 2, perSecond: 1_000, shard: "2/2"),
        ])
        #expect(offset.overlap?.seconds == 1.5 && offset.rps == 2_000)

        // Runs that never met: no shared window.
        let apart = BenchReport.merged([Self.run(start: t0, seconds: 1, perSecond: 10, shard: "1/1"),
                                        Self.run(start: t0.addingTimeInterval(5), seconds: 1, perSecond: 10, shard: "1/1")])
        #expect(apart.overlap?.seconds == 0 && apart.rps == 0)

        // Reports without wall-clock times (older ones) add their rates up, as before.
        var old = [Self.run(start: t0, seconds: 2, perSecond: 100, shard: "1/1"), Self.run(start: t0, seconds: 2, perSecond: 300, shard: "1/1")]
        for i in old.indices { old[i].startedAt = nil }
        #expect(BenchReport.merged(old).rps == old[0].rps + old[1].rps && BenchReport.merged(old).overlap == nil)
    }

    @Test func mergingRefusesMixedLoopsAndOtherPlansAndWarnsOfShardsTwiceOrMissing() {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let plan = BenchReport.Plan(mode: "closed", concurrency: nil, rate: nil, rateRamp: nil, durationSeconds: 4, requests: nil,
                                    warmupSeconds: 0, timeoutSeconds: 1, conns: 30, agents: 3)
        var other = plan
        other.conns = 60
        let a = Self.run(start: t0, seconds: 4, perSecond: 10, shard: "1/3", plan: plan)
        let b = Self.run(start: t0, seconds: 4, perSecond: 10, shard: "2/3", plan: plan)
        let c = Self.run(start: t0, seconds: 4, perSecond: 10, shard: "3/3", plan: plan)
        #expect(BenchReport.mergeProblems([a, b, c]).refusals.isEmpty && BenchReport.mergeProblems([a, b, c]).warnings.isEmpty)
        let missing = BenchReport.mergeProblems([a, c]).warnings
        #expect(missing == ["no report of shard 2/3: the merged figures are 2 of 3 agents' load"])
        var twin = b
        twin.agents![0].host = "elsewhere"
        #expect(BenchReport.mergeProblems([a, b, twin, c]).warnings == ["shard 2/3 is there twice (h2/3 pid 1 and elsewhere pid 1): two agents ran the same part of the load"])
        #expect(BenchReport.mergeProblems([a, b, b, c]).warnings.first?.hasPrefix("the report of shard 2/3 (h2/3, pid 1) is there twice") == true)
        var changed = c
        changed.plan = other
        #expect(BenchReport.mergeProblems([a, b, changed]).refusals.first?.hasPrefix("cannot merge runs of different plans") == true)
        var open = c
        open.mode = "open"
        #expect(BenchReport.mergeProblems([a, open]).refusals.first?.hasPrefix("cannot merge closed-loop and open-loop runs") == true)
        // Whole runs of separate hosts (one agent each) may differ in plan.
        var solo = plan
        solo.agents = 1
        var single = Self.run(start: t0, seconds: 4, perSecond: 10, shard: "1/1", plan: solo)
        var bigger = single
        bigger.plan?.conns = 99
        single.agents![0].pid = 2
        #expect(BenchReport.mergeProblems([single, bigger]) == ([], []))
    }

    @Test func aComparisonSaysWhatGotWorseBeyondTheLimit() {
        var a = BenchReportTests.report(ok: 1_000)
        var b = a
        a.rps = 10_000
        b.rps = 8_500
        b.latency.p99 = a.latency.p99 * 1.05
        b.latency.max = a.latency.max * 10
        b.errorRate = 0.01
        let c = BenchComparison(a, b)
        #expect(c.metrics.first { $0.metric == "rps" }?.changePercent == -15)
        // max is shown but not judged; the error rate from 0 is worse at any limit.
        #expect(c.regressions(beyond: 10).map(\.metric) == ["rps", "error_rate"])
        #expect(c.regressions(beyond: 4).map(\.metric) == ["rps", "error_rate", "p99"])
        #expect(BenchComparison(a, a).regressions(beyond: 0).isEmpty)
        #expect(c.instances.map(\.address) == ["127.0.0.1:9000"])
    }

    /// Consul's KV semantics, in memory: create-if-absent, and a list that waits for the index to move.
    final class MemoryStore: CoordinationStore {
        let state = NIOLockedValueBox<(entries: [String: [UInt8]], index: UInt64)>(([:], 1))

        func create(_ key: String, value: [UInt8]) async throws -> Bool {
            state.withLockedValue { s in
                guard s.entries[key] == nil else { return false }
                s.entries[key] = value
                s.index += 1
                return true
            }
        }

        func put(_ key: String, value: [UInt8]) async throws {
            state.withLockedValue { s in
                s.entries[key] = value
                s.index += 1
            }
        }

        func list(_ prefix: String, after index: UInt64?, wait: Duration) async throws -> (entries: [String: [UInt8]], index: UInt64) {
            let deadline = ContinuousClock.now + wait
            while true {
                let (entries, now) = state.withLockedValue { s in (s.entries.filter { $0.key.hasPrefix(prefix) }, s.index) }
                if index == nil || now > index! || ContinuousClock.now >= deadline { return (entries, now) }
                try await Task.sleep(for: .milliseconds(2))
            }
        }
    }

    @Test func agentsClaimShardsAgreeOnOneStartAndTheirReportsComeBackWhole() async throws {
        let store = MemoryStore()
        let run = RunCoordinator(store: store, runID: "nightly-7")
        let first = try await run.join(agents: 3, shard: nil, host: "a", pid: 1)
        let third = try await run.join(agents: 3, shard: Shard(index: 3, count: 3), host: "c", pid: 3)
        let second = try await run.join(agents: 3, shard: nil, host: "b", pid: 2)
        #expect([first, second, third].map(\.description) == ["1/3", "2/3", "3/3"])
        let taken = try Shard(index: 2, count: 3)
        do throws(RunCoordinator.Failure) {
            _ = try await run.join(agents: 3, shard: taken, host: "d", pid: 4)
            Issue.record("a taken shard was claimed twice")
        } catch {
            #expect(error.kind == .taken && error.description.contains("shard 2/3 of run nightly-7 is taken already (b, pid 2"), "\(error)")
        }
        let all = try await run.waitForAll(agents: 3, timeout: .seconds(5))
        #expect(all.keys.sorted() == [1, 2, 3] && all[2]?.host == "b")
        let now = Date()
        let (start, _) = try await run.agreeOnStart(as: second, now: now)
        let (again, _) = try await run.agreeOnStart(as: first, now: now.addingTimeInterval(1))  // later proposals lose
        #expect(start == again && abs(start.timeIntervalSince(now) - 3) < 0.01)
        // A report larger than one Consul value comes back whole from its parts.
        let big = Data((0..<1_200_000).map { UInt8($0 % 251) })
        try await run.publish(report: big, shard: second)
        try await run.publish(report: Data("{}".utf8), shard: first)
        let (reports, joined) = try await run.reports()
        #expect(reports[2] == big && reports[1] == Data("{}".utf8) && reports[3] == nil && joined.count == 3)
        #expect(store.state.withLockedValue { $0.entries.keys.filter { $0.hasPrefix("mindalpha-pool/runs/nightly-7/reports/2/") }.count } == 3)
    }

    @Test func agentsThatNeverArriveAreNamedAfterTheTimeout() async throws {
        let run = RunCoordinator(store: MemoryStore(), runID: "r")
        _ = try await run.join(agents: 3, shard: Shard(index: 2, count: 3), host: "b", pid: 2)
        do throws(RunCoordinator.Failure) {
            _ = try await run.waitForAll(agents: 3, timeout: .milliseconds(100))
            Issue.record("the wait ended without the agents")
        } catch {
            #expect(error.kind == .missing)
            #expect(error.description == "only 1 of 3 agents joined run r within 100ms (missing: shards 1/3, 3/3): start the others, or lower --agents")
        }
        #expect(RunCoordinator.problem(runID: "nightly-42") == nil)
        #expect(RunCoordinator.problem(runID: "a/b") != nil && RunCoordinator.problem(runID: "") != nil && RunCoordinator.problem(runID: "..") != nil)
    }
}
