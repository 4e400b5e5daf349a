import MindAlphaPool
import Testing

/// What `schedule` prints, computed without the executable.
@Suite struct ScheduleSimulationTests {
    static let targets = [WeightedTarget(name: "A", weight: 5), WeightedTarget(name: "B", weight: 1), WeightedTarget(name: "C", weight: 1)]

    @Test func lvsBurstsAndSmoothSpreadsTheSameShares() {
        let lvs = ScheduleSimulation(.lvs, Self.targets, shown: 7, simulated: 700)
        #expect(lvs.sequence == ["A", "A", "A", "A", "A", "B", "C"])
        #expect(lvs.picks == ["A": 500, "B": 100, "C": 100] && lvs.longestRun["A"] == 5)
        let smooth = ScheduleSimulation(.smooth, Self.targets, shown: 7, simulated: 700)
        #expect(smooth.sequence == ["A", "A", "B", "A", "C", "A", "A"])
        #expect(smooth.picks == lvs.picks)
        // One cycle's longest run is 2; cycles meet end to start ("A A" + "A A"), so over many it is 4.
        #expect(ScheduleSimulation(.smooth, Self.targets, shown: 0, simulated: 7).longestRun["A"] == 2)
        #expect(smooth.longestRun["A"] == 4)
        #expect(abs(smooth.observedShare(of: "A") - 5.0 / 7) < 1e-12)
    }

    @Test func showingMoreThanIsCountedCountsOnlyTheSimulatedPicks() {
        let run = ScheduleSimulation(.lvs, Self.targets, shown: 14, simulated: 7)
        #expect(run.sequence.count == 14 && run.picks.values.reduce(0, +) == 7)
        #expect(ScheduleSimulation(.lvs, [], shown: 3, simulated: 3).sequence.isEmpty)
    }
}
