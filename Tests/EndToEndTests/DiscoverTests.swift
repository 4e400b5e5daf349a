import ConsulDevAgent
import Foundation
import MindAlphaDiscovery
import MindAlphaPool
import TestSupport
import Testing

/// `discover`, `consul-dev` and `serve --register` as processes, against a dev agent on port 0.
@Suite struct DiscoverTests {

    static func register(_ client: ConsulClient, _ id: String, _ host: String, factor: String?, status: String = "passing") async throws {
        var r = ServiceRegistration(id: id, name: "ms-serving", address: host, port: 9000, weight: 1, tags: ["v1"],
                                    check: .init(TTL: "60s", Status: status))
        if let factor { r.Meta = ["balanceFactor": factor] } else { r.Meta = [:] }
        try await client.register(r)
    }

    static func fleet(_ client: ConsulClient) async throws {
        try await register(client, "ms-1", "10.0.0.1", factor: "100")
        try await register(client, "ms-2", "10.0.0.2", factor: nil)
        try await register(client, "ms-3", "10.0.0.3", factor: "100")
    }

    @Test func tablePrintsWeightsSharesAndSummary() async throws {
        try await withDevAgent { agent, client in
            try await Self.fleet(client)
            let r = try await Tool.run(["discover", "--service", "ms-serving", "--consul", agent.address])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.isEmpty)
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 5)
            #expect(lines[0].hasPrefix("ADDRESS        WEIGHT  SHARE  CONSUL WEIGHT  NODE"))
            #expect(lines[1].hasPrefix("10.0.0.2:9000  200     50.0%  1"))  // absent balanceFactor: 200
            #expect(lines[2].hasPrefix("10.0.0.1:9000  100     25.0%"))
            #expect(lines[3].hasPrefix("10.0.0.3:9000  100     25.0%"))
            #expect(lines[4].hasPrefix("3 passing instances · total weight 400 · gcd 100 · LVS cycle 4 picks · index "))
        }
    }

    @Test func serviceFromTheEnvironment() async throws {
        try await withDevAgent { agent, client in
            try await Self.fleet(client)
            let r = try await Tool.run(["discover"], environment: ["MINDALPHA_SERVICE": "ms-serving", "CONSUL_HTTP_ADDR": "http://\(agent.address)"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("10.0.0.2:9000"))
        }
    }

    @Test func jsonHasStableKeys() async throws {
        try await withDevAgent { agent, client in
            try await Self.fleet(client)
            try await Self.register(client, "ms-4", "10.0.0.4", factor: "1.5")
            let r = try await Tool.run(["discover", "-s", "ms-serving", "--consul", agent.address, "--json"])
            #expect(r.status == 0)
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            #expect(Set(doc.keys) == ["service", "consul", "index", "instances", "lint", "summary"])
            let instances = try #require(doc["instances"] as? [[String: Any]])
            #expect(instances.map { $0["address"] as? String } == ["10.0.0.2:9000", "10.0.0.1:9000", "10.0.0.3:9000", "10.0.0.4:9000"])
            #expect(instances.map { $0["weight"] as? Int } == [200, 100, 100, 0])
            #expect(instances[0]["share"] as? Double == 0.5)
            #expect(instances[3]["balanceFactor"] as? String == "1.5")
            let lint = try #require(doc["lint"] as? [[String: Any]])
            #expect(lint.map { $0["code"] as? String } == ["non-integer-balance-factor"])
            let summary = try #require(doc["summary"] as? [String: Int])
            #expect(summary == ["instances": 4, "passing": 4, "totalWeight": 400, "gcd": 100, "cycleLength": 4])
            #expect(r.stderr.hasPrefix("lint: ms-4 (10.0.0.4:9000): balanceFactor \"1.5\" is not an integer"))
        }
    }

    @Test func allShowsNonPassingWithStatus() async throws {
        try await withDevAgent { agent, client in
            try await Self.fleet(client)
            try await Self.register(client, "ms-9", "10.0.0.9", factor: "300", status: "critical")
            let passing = try await Tool.run(["discover", "-s", "ms-serving", "--consul", agent.address])
            #expect(!passing.stdout.contains("10.0.0.9"))
            let all = try await Tool.run(["discover", "-s", "ms-serving", "--consul", agent.address, "--all"])
            #expect(all.status == 0)
            let line = try #require(all.stdout.split(separator: "\n").first { $0.hasPrefix("10.0.0.9:9000") })
            #expect(line.hasPrefix("10.0.0.9:9000  critical  300     -  "))
            #expect(all.stdout.contains("ADDRESS        STATUS    WEIGHT"))
        }
    }

    @Test func strictTurnsLintIntoExit2() async throws {
        try await withDevAgent { agent, client in
            try await Self.register(client, "ms-1", "10.0.0.1", factor: "200")
            try await Self.register(client, "ms-2", "10.0.0.2", factor: "x")  // {200, 0}: the Go client's GCD hangs
            let lax = try await Tool.run(["discover", "-s", "ms-serving", "--consul", agent.address])
            #expect(lax.status == 0)
            #expect(lax.stderr.contains("lint: FLEET-BREAKING: weights are {200, 0}"))
            let strict = try await Tool.run(["discover", "-s", "ms-serving", "--consul", agent.address, "--strict"])
            #expect(strict.status == 2)
            #expect(strict.stdout == lax.stdout)
            try await client.deregister(serviceID: "ms-2")
            #expect(try await Tool.run(["discover", "-s", "ms-serving", "--consul", agent.address, "--strict"]).status == 0)
        }
    }

    @Test func exitCodes() async throws {
        try await withDevAgent { agent, client in
            try await Self.register(client, "ms-1", "10.0.0.1", factor: "200", status: "critical")
            let none = try await Tool.run(["discover", "-s", "ms-serving", "--consul", agent.address])
            #expect(none.status == 69)
            #expect(none.stderr.contains("service 'ms-serving' has no passing instance in consul at \(agent.address)"))
            let usage = try await Tool.run(["discover", "--consul", agent.address])
            #expect(usage.status == 64)
            #expect(usage.stderr.hasPrefix("mindalpha-pool: give --service NAME (or MINDALPHA_SERVICE) or --target HOST:PORT[@WEIGHT]"))
            let badAddress = try await Tool.run(["discover", "-s", "x", "--consul", "http://a b"])
            #expect(badAddress.status == 64)
        }
        // A port that refuses and stays reserved (a port freed by a closed agent could be taken by a parallel
        // test's server, which would then accept and never answer).
        let address = "127.0.0.1:\(try await ScriptedServer.closedPort())"
        let unreachable = try await Tool.run(["discover", "-s", "x", "--consul", address])
        #expect(unreachable.status == 69)
        #expect(unreachable.stderr == "mindalpha-pool: consul at \(address) unreachable: connection refused — set --consul or CONSUL_HTTP_ADDR\n")
        #expect(unreachable.stdout.isEmpty)
    }

    @Test func theTokenNeverShowsUp() async throws {
        let token = "b7f1c0de-7oken-never-printed"
        try await withDevAgent(aclToken: token) { agent, client in
            try await Self.fleet(client)
            var outputs: [Tool.Result] = []
            let ok = try await Tool.run(["discover", "-s", "ms-serving", "--consul", agent.address, "--token", token, "--json"])
            #expect(ok.status == 0)
            outputs.append(ok)
            outputs.append(try await Tool.run(["discover", "-s", "ms-serving", "--consul", agent.address, "--all"], environment: ["CONSUL_HTTP_TOKEN": token]))
            let wrong = try await Tool.run(["discover", "-s", "ms-serving", "--consul", agent.address], environment: ["CONSUL_HTTP_TOKEN": token + "-wrong"])
            #expect(wrong.status == 1)
            #expect(wrong.stderr.contains("ACL token lacks service:read"))
            outputs.append(wrong)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString)")
            try token.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let fromFile = try await Tool.run(["discover", "-s", "ms-serving", "--consul", agent.address, "--token-file", file.path], environment: ["MINDALPHA_LOG_LEVEL": "trace"])
            #expect(fromFile.status == 0)
            outputs.append(fromFile)
            for r in outputs {
                #expect(!r.stdout.contains("never-printed"))
                #expect(!r.stderr.contains("never-printed"))
            }
        }
    }

    @Test func staticTargetsAreShownTheSameWay() async throws {
        let r = try await Tool.run(["discover", "--target", "127.0.0.1:9001@100", "--target", "[::1]:9002"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("[::1]:9002      200     66.7%"))
        #expect(r.stdout.contains("127.0.0.1:9001  100     33.3%"))
        let bad = try await Tool.run(["discover", "--target", "127.0.0.1:9001@x"])
        #expect(bad.status == 64)
        #expect(bad.stderr.hasPrefix("mindalpha-pool: --target: weight 'x' in '127.0.0.1:9001@x' is not a whole number ≥ 0"))
    }

    @Test func watchPrintsChangesAsTheyHappen() async throws {
        try await withDevAgent { agent, client in
            try await Self.fleet(client)
            let watch = try Tool.start(["discover", "-s", "ms-serving", "--consul", agent.address, "--watch", "--json"])
            _ = try await watch.lines(1)  // the document
            try await Task.sleep(for: .milliseconds(200))
            // One change at a time: changes made together may arrive in one answer, printed as one batch.
            try await Self.register(client, "ms-7", "10.0.0.7", factor: "250")
            _ = try await watch.lines(2)
            try await Self.register(client, "ms-1", "10.0.0.1", factor: "50")
            _ = try await watch.lines(3)
            try await client.deregister(serviceID: "ms-3")
            let events = try await watch.lines(4).dropFirst().map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            }
            #expect(events.map { $0["event"] as? String } == ["added", "reweighted", "removed"])
            #expect(events[0]["address"] as? String == "10.0.0.7:9000")
            #expect(events[1]["previousWeight"] as? Int == 100)
            #expect(events[1]["weight"] as? Int == 50)
            #expect(try await watch.stop(SIGINT) == 130)
        }
    }

    @Test func watchTextLinesSayWhenWhyAndWhatTheLintFinds() async throws {
        try await withDevAgent { agent, client in
            try await Self.fleet(client)
            let watch = try Tool.start(["discover", "-s", "ms-serving", "--consul", agent.address, "--watch"])
            _ = try await watch.lines(5)
            try await Task.sleep(for: .milliseconds(200))
            func line(_ n: Int) async throws -> String {
                let text = try await watch.lines(n).last!
                // Each line starts with the time it was printed.
                #expect(text.range(of: #"^\d\d:\d\d:\d\d\.\d\d\d "#, options: .regularExpression) != nil, "\(text)")
                return String(text.dropFirst(13))
            }
            try await Self.register(client, "ms-2", "10.0.0.2", factor: "100")
            #expect(try await line(6) == "~ 10.0.0.2:9000 weight 200 → 100 (ms-2)")
            try await client.updateTTL(checkID: "service:ms-1", status: .critical)
            #expect(try await line(7) == "- 10.0.0.1:9000 weight 100 (ms-1): check critical")
            try await client.deregister(serviceID: "ms-3")
            #expect(try await line(8) == "- 10.0.0.3:9000 weight 100 (ms-3): deregistered")
            // A registration the Go client mishandles shows up with the change that brings it.
            try await Self.register(client, "ms-4", "10.0.0.4", factor: "1.5")
            #expect(try await line(9) == "+ 10.0.0.4:9000 weight 0 (ms-4)")
            let deadline = Date().addingTimeInterval(10)
            while !watch.stderr.contains("lint: "), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(watch.stderr.contains("balanceFactor") && watch.stderr.contains("1.5"), "\(watch.stderr)")
            try await client.deregister(serviceID: "ms-2")
            _ = try await watch.lines(10)
            try await client.deregister(serviceID: "ms-4")
            _ = try await watch.lines(11)
            #expect(try await line(12) == "! no passing instance of ms-serving is left: every client of it fails now")
            #expect(try await watch.stop(SIGINT) == 130)
        }
    }

    @Test func consulDevAndServeRegisterTogether() async throws {
        let agent = try Tool.start(["consul-dev", "--listen", "127.0.0.1:0"])
        let line = try #require(try await agent.lines(1).first)
        #expect(line.hasPrefix("consul-dev listening on http://127.0.0.1:"))
        let address = String(line.dropFirst("consul-dev listening on http://".count))
        let serve = try Tool.start(["serve", "--port", "0", "--instances", "2", "--threads", "1", "--register", "--service", "fleet", "--weight", "150", "--tags", "a,b", "--consul", address])
        _ = try await serve.lines(2)
        // Each TCP check passes after the agent's first probe of it.
        var found = try await Tool.run(["discover", "-s", "fleet", "--consul", address, "--json"])
        for _ in 0..<100 where !found.stdout.contains("\"passing\":2") {
            try await Task.sleep(for: .milliseconds(100))
            found = try await Tool.run(["discover", "-s", "fleet", "--consul", address, "--json"])
        }
        #expect(found.status == 0, "\(found.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(found.stdout.utf8)) as? [String: Any])
        let instances = try #require(doc["instances"] as? [[String: Any]])
        #expect(instances.count == 2)
        #expect(instances.allSatisfy { $0["weight"] as? Int == 150 && $0["consulWeight"] as? Int == 150 && $0["tags"] as? [String] == ["a", "b"] })
        #expect(try await serve.stop(SIGTERM) == 0)
        #expect(serve.stderr.contains("deregistered fleet-127.0.0.1-"))
        #expect(try await Tool.run(["discover", "-s", "fleet", "--consul", address, "--all"]).status == 69)
        #expect(try await agent.stop(SIGTERM) == 0)
    }

    @Test func failedRegistrationIsExit69() async throws {
        // Not an agent started and stopped: its port could go to a parallel test's server the next moment (one run
        // met one that never answered, and waited 10 s for it).
        let address = "127.0.0.1:\(try await ScriptedServer.closedPort())"
        let r = try await Tool.run(["serve", "--port", "0", "--threads", "1", "--register", "--service", "x", "--consul", address])
        #expect(r.status == 69)
        #expect(r.stderr.contains("cannot register x-127.0.0.1-"))
        #expect(r.stderr.contains("unreachable: connection refused"))
    }
}
