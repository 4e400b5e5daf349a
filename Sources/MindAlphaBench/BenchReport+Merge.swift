import Foundation
import MindAlphaPool

extension BenchReport {
    /// Several runs as one, as when each of several hosts put its share of a load on the same fleet at the same
    /// time: counts add up, percentiles come from the merged histograms, the timelines add up second by second
    /// (lined up by the wall clock; their overall percentiles from the merged per-second histograms, each
    /// instance's per-second percentiles the highest of the runs': an upper bound). The rate is taken over the
    /// window all runs overlap (``Overlap``), each run's per-second counts inside it; reports without wall-clock
    /// times (older ones) add their rates up over the longest run instead.
    public static func merged(_ reports: [BenchReport]) -> BenchReport {
        precondition(!reports.isEmpty, "nothing to merge")
        var corrected = LoadRecorder.makeHistogram()
        var uncorrected = LoadRecorder.makeHistogram()
        var anyUncorrected = false
        var errors: [String: Int] = [:]
        var tallies: [String: Tally] = [:]
        for r in reports {
            record(r.histogram, into: &corrected)
            if let u = r.histogramUncorrected {
                anyUncorrected = true
                record(u, into: &uncorrected)
            }
            errors.merge(r.errors, uniquingKeysWith: +)
            for row in r.instances {
                var t = tallies[row.address] ?? Tally(address: row.address, weight: row.weight)
                t.ok += row.ok
                t.errors += row.errors
                t.unfinished += row.unfinished
                t.late += row.late
                t.duplicate += row.duplicate
                t.unknown += row.unknownID
                record(row.histogram, into: &t.histogram)
                tallies[row.address] = t
            }
        }
        func sum(_ value: (BenchReport) -> Int) -> Int { reports.reduce(0) { $0 + value($1) } }
        let ok = sum(\.ok)
        let failed = errors.values.reduce(0, +)
        let targets = reports.compactMap(\.targetRps)
        let limits = reports.compactMap(\.inFlightLimit)
        let windows = reports.map(Window.init)
        let timed = windows.allSatisfy { $0 != nil } ? windows.map { $0! } : nil
        let first = timed?.map(\.start).min()
        var merged = BenchReport(
            rps: round(reports.reduce(0) { $0 + $1.rps }, 1),
            targetRps: targets.isEmpty ? nil : targets.reduce(0, +),
            mode: Set(reports.map(\.mode)).count == 1 ? reports[0].mode : "mixed",
            seconds: reports.map(\.seconds).max()!,
            requests: sum(\.requests), sent: sum(\.sent), ok: ok, errors: errors,
            errorRate: ok + failed == 0 ? 0 : round(Double(failed) / Double(ok + failed), 6),
            unfinished: sum(\.unfinished), dropped: sum(\.dropped), unplaced: sum(\.unplaced),
            late: sum(\.late), duplicate: sum(\.duplicate), unknownID: sum(\.unknownID),
            inFlightLimit: limits.isEmpty ? nil : limits.reduce(0, +),
            latency: summary(corrected),
            latencyUncorrected: anyUncorrected ? summary(uncorrected) : nil,
            instances: rows(Array(tallies.values)),
            events: reports.flatMap(\.events).sorted { $0.at < $1.at },
            timeline: mergedTimeline(reports.map(\.timeline), shifts: reports.indices.map { i in
                guard let timed, let first else { return 0 }
                return Int(timed[i].start.timeIntervalSince(first).rounded())
            }),
            histogram: buckets(corrected),
            histogramUncorrected: anyUncorrected ? buckets(uncorrected) : nil,
            runs: sum(\.runs), interrupted: reports.contains(where: \.interrupted), client: nil,
            connections: mergedConnections(reports.compactMap(\.connections)))
        merged.plan = reports.allSatisfy { $0.plan == reports[0].plan } ? reports[0].plan : nil
        var agents = reports.flatMap { $0.agents ?? [] }
        if let timed, let first {
            let start = timed.map(\.start).max()!, end = timed.map(\.end).min()!
            let shared = max(0, end.timeIntervalSince(start))
            let total = timed.reduce(0) { $0 + $1.end.timeIntervalSince($1.start) }
            merged.startedAt = timestamp(first)
            merged.endedAt = timestamp(timed.map(\.end).max()!)
            merged.overlap = Overlap(startedAt: timestamp(start), endedAt: timestamp(max(start, end)), seconds: round(shared, 3),
                                     share: total > 0 ? round(shared * Double(timed.count) / total, 4) : 0)
            merged.seconds = round(shared, 3)
            let inside = zip(reports, timed).reduce(0.0) { $0 + requests(of: $1.0, window: $1.1, within: start, end) }
            merged.rps = shared > 0 ? round(inside / shared, 1) : 0
            // Each agent's time outside the shared window (a run's own agents list names one agent).
            if agents.count == reports.count {
                for i in agents.indices {
                    agents[i].outsideSeconds = round(timed[i].end.timeIntervalSince(timed[i].start) - shared, 3)
                }
            }
        }
        merged.agents = agents.isEmpty ? nil : agents
        return merged
    }

    /// A report's measured window by its wall clock.
    struct Window {
        var start: Date
        var end: Date

        init?(_ report: BenchReport) {
            guard let s = report.startedAt.flatMap(BenchReport.date), let e = report.endedAt.flatMap(BenchReport.date) else { return nil }
            start = s
            end = max(s, e)
        }
    }

    /// The requests a run finished between `from` and `to`: its per-second counts, each second's share inside
    /// the window (a second partly inside counts in proportion; the last second of a run spans to its end).
    static func requests(of report: BenchReport, window: Window, within from: Date, _ to: Date) -> Double {
        var total = 0.0
        for s in report.timeline {
            let begin = window.start.addingTimeInterval(Double(s.second))
            let finish = min(begin.addingTimeInterval(1), window.end)
            let span = finish.timeIntervalSince(begin)
            guard span > 0 else { continue }
            let inside = min(finish, to).timeIntervalSince(max(begin, from))
            if inside > 0 { total += Double(s.requests) * min(1, inside / span) }
        }
        return total
    }

    /// Why reports cannot be merged (mixed loops, different plans), and what deserves a warning: the same shard
    /// twice, shards missing from a run of N.
    public static func mergeProblems(_ reports: [BenchReport]) -> (refusals: [String], warnings: [String]) {
        var refusals: [String] = []
        var warnings: [String] = []
        let modes = Set(reports.map(\.mode))
        if modes.count > 1 {
            refusals.append("cannot merge closed-loop and open-loop runs (\(modes.sorted().joined(separator: ", "))): their rates mean different things — merge runs of one mode")
        }
        // Shards of one load share its plan; separate hosts' whole runs (one agent each) may differ.
        let plans = reports.compactMap(\.plan).filter { $0.agents > 1 }
        if plans.contains(where: { $0 != plans[0] }) || (!plans.isEmpty && plans.count < reports.count) {
            let described = plans.map(describe).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            refusals.append("cannot merge runs of different plans (\(described.joined(separator: "; "))): each agent must run its shard of the same load")
        }
        let agents = reports.flatMap { $0.agents ?? [] }.filter { (try? Shard(parsing: $0.shard))?.count ?? 1 > 1 }
        var seen: [String: Agent] = [:]
        for a in agents {
            let key = "\(a.runID ?? "")|\(a.shard)"
            if let twin = seen[key] {
                let same = twin.host == a.host && twin.pid == a.pid && twin.startedAt == a.startedAt
                warnings.append(same ? "the report of shard \(a.shard) (\(a.host), pid \(a.pid)) is there twice: the same agent's run counted twice"
                                     : "shard \(a.shard) is there twice (\(twin.host) pid \(twin.pid) and \(a.host) pid \(a.pid)): two agents ran the same part of the load")
            }
            seen[key] = a
        }
        if let n = plans.first?.agents, n > 1 {
            let present = Set(agents.compactMap { try? Shard(parsing: $0.shard) }.filter { $0.count == n }.map(\.index))
            let missing = (1...n).filter { !present.contains($0) }
            if !missing.isEmpty {
                warnings.append("no report of shard\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(n)" }.joined(separator: ", ")): the merged figures are \(present.count) of \(n) agents' load")
            }
        }
        return (refusals, warnings)
    }

    static func describe(_ p: Plan) -> String {
        var parts = [p.mode]
        if let c = p.concurrency { parts.append("concurrency \(c)") }
        if let r = p.rate { parts.append("rate \(r)") }
        if let d = p.durationSeconds { parts.append("\(d)s") }
        if let n = p.requests { parts.append("\(n) requests") }
        parts.append("conns \(p.conns)")
        parts.append("\(p.agents) agent\(p.agents == 1 ? "" : "s")")
        return parts.joined(separator: ", ")
    }

    /// Connections of several hosts added up.
    static func mergedConnections(_ all: [Connections]) -> Connections? {
        guard let first = all.first else { return nil }
        return all.dropFirst().reduce(first) { a, b in
            Connections(wanted: a.wanted + b.wanted, open: a.open + b.open, opened: a.opened + b.opened, failed: a.failed + b.failed,
                        clientLimited: a.clientLimited + b.clientLimited, firstClientLimit: a.firstClientLimit ?? b.firstClientLimit)
        }
    }

    /// Timelines added second by second; run `i`'s second `n` counts in second `n + shifts[i]` (its start's offset
    /// from the first run's, in whole seconds).
    static func mergedTimeline(_ timelines: [[TimelineSecond]], shifts: [Int]) -> [TimelineSecond] {
        let length = zip(timelines, shifts).map { $0.count + $1 }.max() ?? 0
        return (0..<length).map { n in
            var merged = TimelineSecond(second: n, requests: 0, ok: 0, errors: 0, unfinished: 0, dropped: 0, p50Us: 0, p99Us: 0,
                                        histogram: [], instances: [])
            var histogram = LoadTimeline.makeHistogram()
            var instances: [String: TimelineInstance] = [:]
            for (timeline, shift) in zip(timelines, shifts) where n - shift >= 0 && n - shift < timeline.count {
                let s = timeline[n - shift]
                merged.requests += s.requests
                merged.ok += s.ok
                merged.errors += s.errors
                merged.unfinished += s.unfinished
                merged.dropped += s.dropped
                record(s.histogram, into: &histogram)
                for i in s.instances {
                    var m = instances[i.address] ?? TimelineInstance(address: i.address, requests: 0, ok: 0, errors: 0, unfinished: 0, p50Us: 0, p99Us: 0)
                    m.requests += i.requests
                    m.ok += i.ok
                    m.errors += i.errors
                    m.unfinished += i.unfinished
                    m.p50Us = max(m.p50Us, i.p50Us)
                    m.p99Us = max(m.p99Us, i.p99Us)
                    instances[i.address] = m
                }
            }
            if histogram.totalCount > 0 {
                merged.p50Us = us(histogram.valueAtPercentile(50))
                merged.p99Us = us(histogram.valueAtPercentile(99))
                merged.histogram = buckets(histogram)
            }
            merged.instances = instances.values.sorted { $0.address < $1.address }
            return merged
        }
    }
}
