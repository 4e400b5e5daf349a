import Foundation
import MindAlphaDiscovery
import MindAlphaPool
import NIOHTTP1
import TestSupport
import Testing

/// The client against real Consul's exact shapes (`Tests/Fixtures/consul/`) and against broken servers.
@Suite struct ConsulClientTests {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/consul")

    static func fixture(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
    }

    static let consulHeaders = [
        ("Content-Type", "application/json"), ("X-Consul-Default-Acl-Policy", "allow"), ("X-Consul-Effective-Consistency", "stale"),
        ("X-Consul-Index", "245"), ("X-Consul-Knownleader", "true"), ("X-Consul-Lastcontact", "0"), ("X-Consul-Query-Backend", "blocking-query"),
    ]

    @discardableResult
    func withClient<T>(_ canned: CannedHTTPServer.Canned, token: String? = nil, _ body: (ConsulClient, CannedHTTPServer) async throws -> T) async throws -> T {
        let server = try await CannedHTTPServer.start(canned)
        let client = try ConsulClient(settings: ConsulSettings(hostPort: "127.0.0.1:\(server.port)", token: token, timeout: .seconds(5)))
        defer { Task { try? await client.shutdown(); await server.shutdown() } }
        return try await body(client, server)
    }

    @Test func readsTheHealthFixture() async throws {
        let canned = CannedHTTPServer.Canned(status: .ok, headers: Self.consulHeaders, body: try Self.fixture("health-service-passing.json"))
        try await withClient(canned, token: "s3cret") { client, server in
            let result = try await client.health(HealthQuery(service: "payments"))
            #expect(result.index == 245)
            #expect(result.knownLeader)
            #expect(result.lastContactMilliseconds == 0)
            let byID = Dictionary(uniqueKeysWithValues: result.instances.map { ($0.serviceID, $0) })
            #expect(byID["payments-1"]?.address == "10.0.1.21:8080")
            #expect(byID["payments-1"]?.weight == 3)
            #expect(byID["payments-1"]?.consulWeight == 10)
            #expect(byID["payments-1"]?.tags == ["primary", "v1"])
            #expect(byID["payments-1"]?.node == "node-a")
            #expect(byID["payments-1"]?.status == .passing)
            #expect(byID["payments-1"]?.checks.map(\.id) == ["serfHealth", "service:payments-1"])
            // payments-3 has an empty Service.Address: the node's address stands in, and lint says so.
            #expect(byID["payments-3"]?.address == "10.0.1.13:8080")
            #expect(byID["payments-3"]?.addressFromNode == true)
            #expect(byID["payments-3"]?.goAddress == ":8080")
            #expect(RegistrationLint.check(result.instances).map(\.code) == [.emptyServiceAddress])
            // What went on the wire: the Go client's query, the token only in its header.
            let head = try #require(server.requests.first)
            #expect(head.uri == "/v1/health/service/payments?passing=1&stale=")
            #expect(head.headers.first(name: "X-Consul-Token") == "s3cret")
            #expect(!head.uri.contains("s3cret"))
        }
    }

    @Test func queryParametersAreEncoded() async throws {
        let canned = CannedHTTPServer.Canned(status: .ok, headers: Self.consulHeaders, body: "[]")
        try await withClient(canned) { client, server in
            var query = HealthQuery(service: "ms serving", stale: false, tags: ["a&b", "v1"], filter: "Service.Meta.x == \"1\"", namespace: "team")
            query.index = 42
            query.wait = .seconds(1)
            let result = try await client.health(query)
            #expect(result.instances.isEmpty)
            #expect(server.requests.first?.uri == "/v1/health/service/ms%20serving?passing=1&tag=a%26b&tag=v1&filter=Service.Meta.x%20%3D%3D%20%221%22&ns=team&index=42&wait=1000ms")
        }
    }

    @Test func unreachableSaysWhatToDo() async throws {
        // A port that refuses, reserved so that no parallel test's server can take it; a 300 s request timeout.
        let port = try await ScriptedServer.closedPort()
        let client = try ConsulClient(settings: ConsulSettings(hostPort: "127.0.0.1:\(port)", timeout: .seconds(300)))
        defer { Task { try? await client.shutdown() } }
        let start = ContinuousClock.now
        await #expect {
            _ = try await client.health(HealthQuery(service: "x"))
        } throws: { error in
            // The library names the variable; a program's flags only when its settings say so (the CLI's do).
            "\(error)" == "consul at 127.0.0.1:\(port) unreachable: connection refused — set CONSUL_HTTP_ADDR"
                && (error as? ConsulError)?.isUnreachable == true && (error as? ConsulError)?.kind == .unreachable
        }
        // Refused at once, not retried until the 300 s deadline (an AddressSanitizer build beside a full suite and a
        // busy core once took 28 s to get there).
        #expect(ContinuousClock.now - start < .seconds(120))
    }

    @Test func forbiddenNamesThePermissionAndHidesTheToken() async throws {
        let canned = CannedHTTPServer.Canned(status: .forbidden, headers: [], body: "ACL not found for token top-secret-token")
        try await withClient(canned, token: "top-secret-token") { client, _ in
            await #expect {
                _ = try await client.health(HealthQuery(service: "x"))
            } throws: { error in
                let text = "\(error)"
                return text.contains("ACL token lacks service:read") && !text.contains("top-secret-token") && text.contains("<redacted>")
            }
        }
    }

    @Test func otherStatusesCarryConsulsMessage() async throws {
        let canned = CannedHTTPServer.Canned(status: .badRequest, headers: [], body: "Invalid wait time\n")
        try await withClient(canned) { client, _ in
            do {
                _ = try await client.health(HealthQuery(service: "x"))
                Issue.record("no error")
            } catch let error as ConsulError {
                #expect(error.kind == .http)
                #expect(error.status == 400)
                #expect(error.path == "/v1/health/service/x")
                #expect(error.consulMessage == "Invalid wait time")
            }
        }
    }

    @Test func malformedJSONIsNamed() async throws {
        for body in ["<html>not consul</html>", "{\"Node\": 1}", "[{\"Node\": {}}]"] {
            let canned = CannedHTTPServer.Canned(status: .ok, headers: [], body: body)
            try await withClient(canned) { client, _ in
                do {
                    _ = try await client.health(HealthQuery(service: "x"))
                    Issue.record("no error for \(body)")
                } catch let error as ConsulError {
                    #expect(error.kind == .malformed)
                    #expect("\(error)".contains("is that address a Consul agent?"))
                }
            }
        }
    }
}
