@testable import MindAlphaBench
import MindAlphaPool
import Testing

/// Thresholds and merging over the report's buckets.
@Suite struct BenchReportTests {
    static func report(ok: Int, errors: [String: Int] = [:], unfinished: Int = 0, dropped: Int = 0, seconds: Int = 2) -> BenchReport {
        var histogram = LoadRecorder.makeHistogram()
        for _ in 0..<ok { _ = histogram.record(1_000_000) }
        let failed = errors.values.reduce(0, +)
        let requests = ok + failed + unfinished + dropped
        let row = BenchReport.rows([BenchReport.Tally(address: "127.0.0.1:9000", weight: 100, ok: ok, errors: failed,
                                                      unfinished: unfinished, late: 1, duplicate: 2, unknown: 3, histogram: histogram)])
        let timeline = (0..<seconds).map { n in
            BenchReport.TimelineSecond(second: n, requests: n == 0 ? ok + failed + unfinished : 0, ok: n == 0 ? ok : 0,
                                       errors: n == 0 ? failed : 0, unfinished: n == 0 ? unfinished : 0, dropped: n == 0 ? dropped : 0,
                                       p50Us: 1000, p99Us: 1000, histogram: n == 0 ? [[1_000_000, UInt64(ok)]] : [],
                                       instances: [])
        }
        return BenchReport(
            rps: Double(requests - dropped) / Double(seconds), targetRps: nil, mode: "closed", seconds: Double(seconds),
            requests: requests, sent: requests - dropped, ok: ok, errors: errors,
            errorRate: ok + failed == 0 ? 0 : Double(failed) / Double(ok + failed),
            unfinished: unfinished, dropped: dropped, unplaced: 0, late: 1, duplicate: 2, unknownID: 3, inFlightLimit: nil,
            latency: BenchReport.summary(histogram), latencyUncorrected: nil, instances: row, events: [],
            timeline: timeline, histogram: BenchReport.buckets(histogram), histogramUncorrected: nil, runs: 1,
            interrupted: false, client: nil, connections: nil)
    }

    @Test func countThresholdsLookAtTheirOwnBucketOnly() throws {
        let r = Self.report(ok: 90, errors: ["timeout": 2], unfinished: 3, dropped: 5)
        #expect(try Threshold(parsing: "errors>1").isBreached(by: r))
        #expect(try !Threshold(parsing: "errors>2").isBreached(by: r))  // unfinished and dropped are not errors
        #expect(try Threshold(parsing: "dropped>0").isBreached(by: r))
        #expect(try Threshold(parsing: "dropped>=5%").isBreached(by: r))
        #expect(try !Threshold(parsing: "dropped>5%").isBreached(by: r))
        #expect(try Threshold(parsing: "unfinished>2").isBreached(by: r))
        #expect(try !Threshold(parsing: "unfinished>3%").isBreached(by: r))
        #expect(throws: ThresholdError.self) { try Threshold(parsing: "dropped>lots") }
    }

    @Test func mergedReportsAddUpBucketByBucketAndSecondBySecond() {
        let a = Self.report(ok: 90, errors: ["timeout": 2], unfinished: 3, dropped: 5, seconds: 2)
        let b = Self.report(ok: 10, dropped: 1, seconds: 3)
        let m = BenchReport.merged([a, b])
        #expect(m.requests == a.requests + b.requests && m.sent == a.sent + b.sent)
        #expect(m.ok == 100 && m.unfinished == 3 && m.dropped == 6 && m.errors == ["timeout": 2])
        #expect(m.late == 2 && m.duplicate == 4 && m.unknownID == 6)
        #expect(m.instances.count == 1 && m.instances[0].requests == 105 && m.instances[0].unknownID == 6)
        #expect(m.timeline.count == 3 && m.timeline[0].requests == 105 && m.timeline[0].dropped == 6)
        #expect(m.timeline[0].histogram.reduce(0) { $0 + $1[1] } == 100 && m.timeline[0].p99Us == 1000)
        #expect(m.runs == 2 && m.seconds == 3)
    }
}
