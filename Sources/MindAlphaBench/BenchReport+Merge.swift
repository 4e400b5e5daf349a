import MindAlphaPool

extension BenchReport {
    /// Several runs as one, as when each of several hosts put its share of a load on the same fleet at the same
    /// time: counts and rates add up, the time is the longest, percentiles come from the merged histograms; the
    /// timelines add up second by second (their overall percentiles from the merged per-second histograms, each
    /// instance's per-second percentiles the highest of the runs': an upper bound).
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
        return BenchReport(
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
            timeline: mergedTimeline(reports.map(\.timeline)),
            histogram: buckets(corrected),
            histogramUncorrected: anyUncorrected ? buckets(uncorrected) : nil,
            runs: sum(\.runs), interrupted: reports.contains(where: \.interrupted), client: nil,
            connections: mergedConnections(reports.compactMap(\.connections)))
    }

    /// Connections of several hosts added up.
    static func mergedConnections(_ all: [Connections]) -> Connections? {
        guard let first = all.first else { return nil }
        return all.dropFirst().reduce(first) { a, b in
            Connections(wanted: a.wanted + b.wanted, open: a.open + b.open, opened: a.opened + b.opened, failed: a.failed + b.failed,
                        clientLimited: a.clientLimited + b.clientLimited, firstClientLimit: a.firstClientLimit ?? b.firstClientLimit)
        }
    }

    /// Timelines added second by second.
    static func mergedTimeline(_ timelines: [[TimelineSecond]]) -> [TimelineSecond] {
        let length = timelines.map(\.count).max() ?? 0
        return (0..<length).map { n in
            var merged = TimelineSecond(second: n, requests: 0, ok: 0, errors: 0, unfinished: 0, dropped: 0, p50Us: 0, p99Us: 0,
                                        histogram: [], instances: [])
            var histogram = LoadTimeline.makeHistogram()
            var instances: [String: TimelineInstance] = [:]
            for timeline in timelines where n < timeline.count {
                let s = timeline[n]
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
