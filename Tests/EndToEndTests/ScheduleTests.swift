import ConsulDevAgent
import Foundation
import MindAlphaDiscovery
import MindAlphaPool
import TestSupport
import Testing

/// `mindalpha-pool schedule` as a process.
@Suite struct ScheduleTests {
    @Test func weightsGiveTheGoSequenceAndTable() async throws {
        let r = try await Tool.run(["schedule", "--weights", "A=4,B=3,C=2"])
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0] == "3 instances · gcd 1 · cycle 9 picks · simulated 9 picks")
        #expect(lines[1] == "lvs sequence (first 9): A A B A B C A B C")
        #expect(lines[2] == "NAME  WEIGHT  EXPECTED  OBSERVED  PICKS  LONGEST RUN")
        #expect(lines[3] == "A     4       44.4%     44.4%     4      2")
    }

    @Test func compareShowsBothAlgorithms() async throws {
        let r = try await Tool.run(["schedule", "--weights", "a=5,b=1,c=1", "--compare"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("lvs sequence (first 7): a a a a a b c"))
        #expect(r.stdout.contains("smooth sequence (first 7): a a b a c a a"))
        #expect(r.stdout.contains("LVS LONGEST RUN"))
        let a = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("a ") })
        #expect(a.split(separator: " ").map(String.init) == ["a", "5", "71.4%", "71.4%", "5", "5", "71.4%", "5", "2"])
    }

    @Test func jsonHasTheSequenceAndShares() async throws {
        let r = try await Tool.run(["schedule", "--weights", "A=200,B=200,C=100", "--json", "--algorithm", "smooth", "--simulate", "1000"])
        #expect(r.status == 0)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(doc["sequence"] as? [String] == ["A", "B", "C", "A", "B"])
        #expect(doc["gcd"] as? Int == 100)
        #expect(doc["cycleLength"] as? Int == 5)
        #expect(doc["simulated"] as? Int == 1000)
        let instances = try #require(doc["instances"] as? [[String: Any]])
        #expect(instances.map { $0["picks"] as? Int } == [400, 400, 200])
        #expect(instances.map { $0["observedShare"] as? Double } == [0.4, 0.4, 0.2])
    }

    @Test func picksAndSimulateAreHonoured() async throws {
        let r = try await Tool.run(["schedule", "--weights", "A=1,B=1", "--picks", "5", "--simulate", "7"])
        #expect(r.stdout.contains("lvs sequence (first 5): A B A B A\n"))
        #expect(r.stdout.contains("A     1       50.0%     57.1%     4      1"))
    }

    @Test func badWeightsAreExit64NamingTheItem() async throws {
        for (weights, message) in [
            ("a=x", "--weights: 'a=x' has weight 'x', not a whole number ≥ 0"),
            ("a=-1", "--weights: 'a=-1' has weight '-1', not a whole number ≥ 0"),
            ("", "--weights: '' is not NAME=WEIGHT (e.g. A=4,B=3)"),
            ("a=1,,b=2", "--weights: '' is not NAME=WEIGHT (e.g. A=4,B=3)"),
            ("a=1,a=2", "--weights: 'a' is given twice"),
        ] {
            let r = try await Tool.run(["schedule", "--weights", weights])
            #expect(r.status == 64, "\(weights)")
            #expect(r.stderr.hasPrefix("mindalpha-pool: \(message)\n"), "\(weights): \(r.stderr)")
        }
        #expect(try await Tool.run(["schedule"]).status == 64)
        #expect(try await Tool.run(["schedule", "--weights", "a=1", "--target", "127.0.0.1:1"]).status == 64)
    }

    @Test func fromConsulWithLintAndItsEffect() async throws {
        try await withDevAgent { agent, client in
            for (id, factor) in [("ms-1", "200"), ("ms-2", "oops")] {
                var r = ServiceRegistration(id: id, name: "ms", address: "10.0.0.\(id.last!)", port: 9000, weight: 1, check: .init(TTL: "60s", Status: "passing"))
                r.Meta = ["balanceFactor": factor]
                try await client.register(r)
            }
            let r = try await Tool.run(["schedule", "--service", "ms", "--consul", agent.address])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("lvs sequence (first 1): 10.0.0.1:9000"))
            #expect(r.stderr.contains("weights are {200, 0}"))
            #expect(r.stderr.contains("Go clients never produce this schedule; it is shown with the correct GCD"))
            #expect(r.stderr.contains("in this schedule it gets no picks"))
            let none = try await Tool.run(["schedule", "--service", "nothing", "--consul", agent.address])
            #expect(none.status == 69)
        }
    }
}
