import AsyncHTTPClient
import ConsulDevAgent
import Foundation
import MindAlphaDiscovery
import MindAlphaPool
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

/// `ConsulDevAgent` on 127.0.0.1 port 0, checked against real Consul's shapes, texts and blocking rules.
@Suite struct ConsulDevAgentTests {
    struct Raw {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) }
    }

    static func raw(_ agent: ConsulDevAgent, _ method: HTTPMethod, _ path: String, body: String? = nil, token: String? = nil) async throws -> Raw {
        var request = HTTPClientRequest(url: "http://\(agent.address)\(path)")
        request.method = method
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        if let token { request.headers.add(name: "X-Consul-Token", value: token) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Raw(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }


    static func registration(_ id: String, port: Int = 8080, weight: Int = 3, address: String = "10.0.1.21", check: ServiceRegistration.CheckDefinition? = .init(TTL: "15s", Status: "passing")) -> ServiceRegistration {
        ServiceRegistration(id: id, name: "payments", address: address, port: port, weight: weight, tags: ["primary", "v1"], check: check)
    }

    /// Every key of `fixture` is in `ours` with a value of the same JSON type, recursively; and no key is extra.
    static func sameShape(_ ours: Any, _ fixture: Any, path: String = "") -> [String] {
        switch (ours, fixture) {
        case let (o as [String: Any], f as [String: Any]):
            var problems: [String] = []
            for key in Set(o.keys).union(f.keys).sorted() {
                guard let ov = o[key] else { problems.append("\(path).\(key) missing"); continue }
                guard let fv = f[key] else { problems.append("\(path).\(key) extra"); continue }
                problems += sameShape(ov, fv, path: "\(path).\(key)")
            }
            return problems
        case let (o as [Any], f as [Any]):
            guard let first = f.first else { return [] }
            return o.flatMap { sameShape($0, first, path: path + "[]") }
        case (is String, is String), (is NSNull, is NSNull):
            return []
        case let (o as NSNumber, f as NSNumber):
            let oBool = String(cString: o.objCType) == "c", fBool = String(cString: f.objCType) == "c"
            return oBool == fBool ? [] : ["\(path): \(o) vs \(f)"]
        default:
            return ["\(path): \(type(of: ours)) vs \(type(of: fixture))"]
        }
    }

    @Test func healthMatchesTheFixtureFieldForField() async throws {
        try await withDevAgent { agent, client in
            try await client.register(Self.registration("payments-1"))
            let r = try await Self.raw(agent, .GET, "/v1/health/service/payments?passing=1&stale=")
            #expect(r.status == 200)
            let ours = try #require(r.json as? [[String: Any]])
            let fixture = try #require(try JSONSerialization.jsonObject(with: Data(ConsulClientTests.fixture("health-service-passing.json").utf8)) as? [[String: Any]])
            #expect(ours.count == 1)
            #expect(Self.sameShape(ours[0], fixture[0]) == [])
            // And the values that matter to clients.
            let service = try #require(ours[0]["Service"] as? [String: Any])
            #expect(service["Meta"] as? [String: String] == ["balanceFactor": "3"])
            #expect((service["Weights"] as? [String: Int])?["Passing"] == 3)
            let checks = try #require(ours[0]["Checks"] as? [[String: Any]])
            #expect(checks.map { $0["CheckID"] as? String } == ["serfHealth", "service:payments-1"])
            #expect(checks[1]["Name"] as? String == "Service 'payments' check")
            #expect(checks[1]["Type"] as? String == "ttl")
        }
    }

    @Test func everyReadCarriesConsulsHeaders() async throws {
        try await withDevAgent { agent, client in
            try await client.register(Self.registration("p1"))
            for path in ["/v1/health/service/payments", "/v1/catalog/services", "/v1/catalog/service/payments"] {
                let r = try await Self.raw(agent, .GET, path + "?stale")
                #expect(r.status == 200, "\(path)")
                #expect(UInt64(r.headers.first(name: "X-Consul-Index") ?? "") ?? 0 >= 1, "\(path)")
                #expect(r.headers.first(name: "X-Consul-KnownLeader") == "true", "\(path)")
                #expect(r.headers.first(name: "X-Consul-LastContact") == "0", "\(path)")
                #expect(r.headers.first(name: "X-Consul-Effective-Consistency") == "stale", "\(path)")
                #expect(r.headers.first(name: "Content-Type") == "application/json", "\(path)")
            }
        }
    }

    @Test func catalogEndpoints() async throws {
        try await withDevAgent { agent, client in
            try await client.register(Self.registration("p1"))
            var other = Self.registration("p2", port: 8081)
            other.Tags = ["v1", "canary"]
            try await client.register(other)
            let services = try #require(try await Self.raw(agent, .GET, "/v1/catalog/services").json as? [String: [String]])
            #expect(Set(services["payments"] ?? []) == ["primary", "v1", "canary"])
            #expect(services["consul"] == [])  // as in Tests/Fixtures/consul/catalog-services.json: the server's own
            let nodes = try #require(try await Self.raw(agent, .GET, "/v1/catalog/service/payments?tag=canary").json as? [[String: Any]])
            #expect(nodes.map { $0["ServiceID"] as? String } == ["p2"])
            #expect(nodes.first?["ServicePort"] as? Int == 8081)
            #expect(try await Self.raw(agent, .GET, "/v1/status/leader").body == "\"127.0.0.1:8300\"")
            let me = try #require(try await Self.raw(agent, .GET, "/v1/agent/self").json as? [String: Any])
            #expect((me["Config"] as? [String: Any])?["Datacenter"] as? String == "dc1")
        }
    }

    @Test func unknownServiceIsAnEmptyArray() async throws {
        try await withDevAgent { agent, _ in
            let r = try await Self.raw(agent, .GET, "/v1/health/service/nothing-here?passing=1")
            #expect(r.status == 200)
            #expect(r.body == "[]")
        }
    }

    @Test func errorsAreConsulsOwn() async throws {
        try await withDevAgent { agent, _ in
            let cases: [(HTTPMethod, String, String?, Int, String)] = [
                (.PUT, "/v1/agent/service/deregister/nope", nil, 404, "Unknown service ID \"nope\". Ensure that the service ID is passed, not the service name."),
                (.PUT, "/v1/agent/check/pass/nope", nil, 404, "Unknown check ID \"nope\". Ensure that the check ID is passed, not the check name."),
                (.PUT, "/v1/agent/service/register", #"{"Port": 1}"#, 400, "Missing service name"),
                (.PUT, "/v1/agent/service/register", #"{"Name": "x", "Weights": {"Passing": 0, "Warning": 1}}"#, 400, "Invalid Weights: Passing must be greater than 0"),
                (.PUT, "/v1/agent/service/register", #"{"Name": "x", "Meta": {"consul-x": "1"}}"#, 400, "Invalid Service Meta: Key prefix 'consul-' is reserved for internal use"),
                (.PUT, "/v1/agent/service/register", #"{"Name": "x", "Check": {"TCP": "127.0.0.1:1"}}"#, 400, "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, or TCP checks"),
                (.GET, "/v1/health/service/x?stale&consistent", nil, 400, "Cannot specify ?stale with ?consistent, conflicting semantics."),
                (.GET, "/v1/health/service/x?index=abc", nil, 400, "Invalid index"),
                (.GET, "/v1/health/service/x?index=1&wait=5", nil, 400, "Invalid wait time"),
                (.GET, "/v1/health/service/x?passing=maybe", nil, 400, "Invalid value for ?passing"),
                (.GET, "/v1/not/a/thing", nil, 404, "Invalid URL path: not a recognized HTTP API endpoint"),
                (.POST, "/v1/health/service/x", nil, 405, "method POST not allowed"),
            ]
            for (method, path, body, status, message) in cases {
                let r = try await Self.raw(agent, method, path, body: body)
                #expect(r.status == status, "\(method) \(path)")
                #expect(r.body == message, "\(method) \(path)")
            }
            let r = try await Self.raw(agent, .PUT, "/v1/health/service/x")
            #expect(r.headers.first(name: "Allow") == "OPTIONS,GET")
        }
    }

    @Test func registrationAcceptsTheGoClientsNullsAndCaseInsensitiveKeys() async throws {
        try await withDevAgent { agent, client in
            let fixture = try ConsulClientTests.fixture("agent-service-register.json")
            #expect(try await Self.raw(agent, .PUT, "/v1/agent/service/register", body: fixture).status == 200)
            #expect(try await Self.raw(agent, .PUT, "/v1/agent/service/register", body: #"{"name": "lower", "port": 7, "check": null, "checks": null}"#).status == 200)
            let all = try await client.health(HealthQuery(service: "payments", passingOnly: false))
            #expect(all.instances.map(\.serviceID) == ["payments-1"])
            #expect(all.instances.first?.status == .critical)  // a new TTL check starts critical
            #expect(try await client.health(HealthQuery(service: "payments")).instances.isEmpty)
            #expect(try await client.health(HealthQuery(service: "lower")).instances.map(\.port) == [7])
        }
    }

    @Test func blockingQueryWakesOnChange() async throws {
        try await withDevAgent { agent, client in
            try await client.register(Self.registration("p1"))
            let first = try await client.health(HealthQuery(service: "payments"))
            async let blocked = client.health(HealthQuery(service: "payments", index: first.index, wait: .seconds(120)))
            try await Task.sleep(for: .milliseconds(150))
            let start = ContinuousClock.now
            try await client.register(Self.registration("p2", port: 8081))
            let second = try await blocked
            // Woken by the change, not by the wait running out (a margin for a machine loaded by parallel tests).
            #expect(ContinuousClock.now - start < .seconds(60))
            #expect(second.index > first.index)
            #expect(second.instances.count == 2)
        }
    }

    @Test func blockingQueryAnswersWhenTheWaitRunsOut() async throws {
        try await withDevAgent { agent, client in
            try await client.register(Self.registration("p1"))
            let first = try await client.health(HealthQuery(service: "payments"))
            let start = ContinuousClock.now
            let same = try await client.health(HealthQuery(service: "payments", index: first.index, wait: .milliseconds(300)))
            #expect(ContinuousClock.now - start >= .milliseconds(300))
            #expect(same.index == first.index)
            #expect(same.instances == first.instances)
        }
    }

    @Test func ttlChecksExpireToCritical() async throws {
        try await withDevAgent { agent, client in
            try await client.register(Self.registration("p1", check: .init(TTL: "2s")))
            #expect(try await client.health(HealthQuery(service: "payments")).instances.isEmpty)
            try await client.updateTTL(checkID: "service:p1", status: .passing, note: "ok")
            #expect(try await client.health(HealthQuery(service: "payments")).instances.count == 1)
            try await Task.sleep(for: .milliseconds(2500))
            let all = try await client.health(HealthQuery(service: "payments", passingOnly: false))
            #expect(all.instances.first?.checks.last?.status == .critical)
            #expect(all.instances.first?.checks.last?.output == "TTL expired")
        }
    }

    @Test func tcpChecksAreReallyPerformed() async throws {
        try await withDevAgent { agent, client in
            try await client.register(Self.registration("up", address: "127.0.0.1", check: .init(TCP: agent.address, Interval: "100ms")))
            let deadPort = try await ScriptedServer.closedPort()
            try await client.register(Self.registration("down", port: 9, address: "127.0.0.1", check: .init(TCP: "127.0.0.1:\(deadPort)", Interval: "100ms")))
            var statuses: [String: CheckStatus] = [:]
            for _ in 0..<50 {
                let all = try await client.health(HealthQuery(service: "payments", passingOnly: false))
                statuses = Dictionary(uniqueKeysWithValues: all.instances.map { ($0.serviceID, $0.status) })
                if statuses["up"] == .passing { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(statuses == ["up": .passing, "down": .critical])
            let down = try await client.health(HealthQuery(service: "payments", passingOnly: false)).instances.first { $0.serviceID == "down" }
            #expect(down?.checks.last?.output.contains("connection refused") == true)
        }
    }

    @Test func httpChecksAreReallyPerformed() async throws {
        try await withDevAgent { agent, client in
            // The agent's own API stands in for a health endpoint: 200 on a known path, 404 elsewhere.
            try await client.register(Self.registration("ok", address: "127.0.0.1", check: .init(HTTP: "http://\(agent.address)/v1/status/leader", Interval: "100ms")))
            try await client.register(Self.registration("bad", port: 8081, address: "127.0.0.1", check: .init(HTTP: "http://\(agent.address)/v1/nope", Interval: "100ms")))
            var all: [Instance] = []
            for _ in 0..<50 {
                all = try await client.health(HealthQuery(service: "payments", passingOnly: false)).instances
                if all.contains(where: { $0.serviceID == "ok" && $0.status == .passing }), all.contains(where: { $0.serviceID == "bad" && $0.checks.last?.output != "" }) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let byID = Dictionary(uniqueKeysWithValues: all.map { ($0.serviceID, $0) })
            #expect(byID["ok"]?.status == .passing)
            #expect(byID["ok"]?.checks.last?.output == "HTTP GET http://\(agent.address)/v1/status/leader: 200 OK")
            #expect(byID["bad"]?.status == .critical)
            #expect(byID["bad"]?.checks.last?.output.contains(": 404 Not Found") == true)
        }
    }

    @Test func aclTokenRulesAreConsuls() async throws {
        try await withDevAgent(aclToken: "root-token") { agent, client in
            try await client.register(Self.registration("p1"))
            #expect(try await client.health(HealthQuery(service: "payments")).instances.count == 1)
            // No token: anonymous, reads filtered to nothing; writes denied.
            #expect(try await Self.raw(agent, .GET, "/v1/health/service/payments").body == "[]")
            #expect(try await Self.raw(agent, .PUT, "/v1/agent/service/deregister/p1").status == 403)
            // An unknown token.
            let wrong = try await Self.raw(agent, .GET, "/v1/health/service/payments", token: "guess")
            #expect(wrong.status == 403)
            #expect(wrong.body == "ACL not found")
        }
    }

    @Test func watchReportsEveryKindOfChange() async throws {
        try await withDevAgent { agent, client in
            try await client.register(Self.registration("p1", weight: 200))
            var events = client.watch(HealthQuery(service: "payments")).makeAsyncIterator()
            guard case let .initial(instances, _)? = await events.next() else { Issue.record("no initial set"); return }
            #expect(instances.map(\.serviceID) == ["p1"])

            try await client.register(Self.registration("p2", port: 8081, weight: 100))
            guard case let .changed(added, _, _)? = await events.next() else { Issue.record("no add"); return }
            #expect(added.added.map(\.serviceID) == ["p2"])

            try await client.register(Self.registration("p2", port: 8081, weight: 50))
            guard case let .changed(reweighted, _, _)? = await events.next() else { Issue.record("no reweight"); return }
            #expect(reweighted.reweighted.map { [$0.before.weight, $0.after.weight] } == [[100, 50]])

            try await client.updateTTL(checkID: "service:p1", status: .critical)
            guard case let .changed(failed, _, _)? = await events.next() else { Issue.record("no removal on failing check"); return }
            #expect(failed.removed.map(\.serviceID) == ["p1"])

            try await client.deregister(serviceID: "p2")
            guard case let .changed(gone, now, _)? = await events.next() else { Issue.record("no deregistration"); return }
            #expect(gone.removed.map(\.serviceID) == ["p2"])
            #expect(now.isEmpty)
        }
    }

    @Test func watchKeepsGoingThroughAnOutage() async throws {
        let agent = try await ConsulDevAgent.start(host: "127.0.0.1", port: 0)
        let client = try ConsulClient(settings: ConsulSettings(hostPort: agent.address))
        defer { Task { try? await client.shutdown() } }
        try await client.register(Self.registration("p1"))
        var events = client.watch(HealthQuery(service: "payments"), wait: .milliseconds(200)).makeAsyncIterator()
        guard case .initial? = await events.next() else { Issue.record("no initial"); return }
        try await agent.shutdown()
        guard case let .failed(error, retryIn)? = await events.next() else { Issue.record("no failure event"); return }
        #expect(error.isUnreachable)
        #expect(retryIn <= .seconds(1))
    }
}
