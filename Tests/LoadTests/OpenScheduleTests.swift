@testable import MindAlphaBench
import MindAlphaPool
import NIOCore
import Testing

/// The open loop's schedule is computed, never stored: due times and counts must agree exactly.
@Suite struct OpenScheduleTests {
    static let origin = NIODeadline.uptimeNanoseconds(5_000_000_000)

    @Test(arguments: [(0.1, nil), (1.0, nil), (1000.0, nil), (1_500_000.0, nil), (10_000_000.0, nil), (10.0, 5_000.0), (50_000.0, 1.0)] as [(Double, Double?)])
    func countBeforeAgreesWithDueTimes(rate: Double, from: Double?) {
        let schedule = OpenSchedule(origin: Self.origin, rate: rate, from: from, span: 10)
        var generator = SplitMix64(seed: UInt64(rate * 7))  // seeded: a failure repeats
        for _ in 0..<2_000 {
            let t = Self.origin + .nanoseconds(Int64(generator.next() % 12_000_000_000))
            let n = schedule.count(before: t)
            #expect(n == 0 || schedule.due(n - 1) < t, "rate \(rate) from \(String(describing: from)) at \(t)")
            #expect(schedule.due(n) >= t)
        }
        #expect(schedule.count(before: Self.origin) == 0)
        #expect(schedule.due(0) == Self.origin)
    }

    @Test func aFixedRateIsEvenlySpacedAndARampRisesFromItsStartToItsEnd() {
        let fixed = OpenSchedule(origin: Self.origin, rate: 1000, from: nil, span: 3)
        #expect(fixed.count(before: Self.origin + .seconds(3)) == 3000)
        #expect(fixed.due(500) == Self.origin + .milliseconds(500))
        let ramp = OpenSchedule(origin: Self.origin, rate: 3000, from: 1000, span: 2)
        // 1000→3000 over 2 s is 4000 requests in all; the first second carries 1000 + 500.
        #expect(ramp.count(before: Self.origin + .seconds(2)) == 4000)
        #expect(ramp.count(before: Self.origin + .seconds(1)) == 1500)
    }
}
