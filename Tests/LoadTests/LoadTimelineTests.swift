@testable import MindAlphaBench
import MindAlphaPool
import Testing

/// Per-second counts and percentiles, built as results arrive.
@Suite struct LoadTimelineTests {
    @Test func everyResultCountsInItsSecondAndPercentilesAreTheSeconds() {
        var t = LoadTimeline(lastSecond: nil)
        for _ in 0..<99 { t.add(second: 0, slot: 0, .ok, latency: 1_000_000) }
        t.add(second: 0, slot: 1, .ok, latency: 50_000_000)
        t.add(second: 0, slot: 1, .error, latency: nil)
        t.add(second: 2, slot: 0, .ok, latency: 2_000_000)
        t.add(second: 1, slot: 1, .unfinished, latency: nil)  // a moment late, from another thread
        t.finish(through: 3)
        let s = t.seconds
        #expect(s.count == 4)
        #expect(s[0].counts == .init(ok: 100, errors: 1, unfinished: 0))
        #expect(s[0].p50 / 10_000 == 100 && s[0].p99 / 10_000 == 100)  // 1 ms, to 2 significant digits
        #expect(s[0].instances[0]?.counts.ok == 99 && s[0].instances[1]?.counts == .init(ok: 1, errors: 1, unfinished: 0))
        #expect(s[0].instances[1]!.p99 / 1_000_000 == 50)
        #expect(s[1].counts == .init(ok: 0, errors: 0, unfinished: 1))
        #expect(s[2].counts.ok == 1 && s[2].p50 / 100_000 == 20)
        #expect(s[3].counts.requests == 0 && s[3].buckets.isEmpty)
        #expect(s[0].buckets.reduce(0) { $0 + $1[1] } == 100)
    }

    @Test func resultsPastTheLastSecondFoldIntoIt() {
        var clamped = LoadTimeline(lastSecond: 1)
        clamped.add(second: 5, slot: 0, .ok, latency: 1_000_000)
        clamped.finish(through: 1)
        #expect(clamped.seconds.count == 2 && clamped.seconds[1].counts.ok == 1)
        var t = LoadTimeline(lastSecond: nil)
        t.add(second: 0, slot: 0, .ok, latency: 1_000_000)
        t.add(second: 3, slot: 2, .error, latency: nil)
        t.finish(through: 1)
        #expect(t.seconds.count == 2)
        #expect(t.seconds[1].counts.errors == 1 && t.seconds[1].instances[2]?.counts.errors == 1)
        var empty = LoadTimeline(lastSecond: nil)
        empty.add(second: 0, slot: 0, .ok, latency: 1_000_000)
        empty.finish(through: -1)
        #expect(empty.seconds.isEmpty)
    }
}
