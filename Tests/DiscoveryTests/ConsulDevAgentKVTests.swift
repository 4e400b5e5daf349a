import ConsulDevAgent
import Foundation
import MindAlphaDiscovery
import NIOHTTP1
import TestSupport
import Testing

/// consul-dev's key/value store (`/v1/kv/`) against Consul's shapes, texts and index rules; the client's KV calls
/// against it; and py-consul, a third-party client, as the judge.
@Suite struct ConsulDevAgentKVTests {
    typealias T = ConsulDevAgentTests

    /// Waits until `condition` holds (an event in the agent), failing after 30 s.
    static func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    static func index(_ r: T.Raw) -> UInt64? { r.headers.first(name: "X-Consul-Index").flatMap(UInt64.init) }

    @Test func aKeyIsWrittenReadAndListedAsConsulAnswers() async throws {
        try await withDevAgent { agent, _ in
            let put = try await T.raw(agent, .PUT, "/v1/kv/payments/config/pool", body: #"{"conns":30}"#)
            #expect(put.status == 200 && put.body == "true")
            #expect(put.headers.first(name: "Content-Type") == "application/json")
            let get = try await T.raw(agent, .GET, "/v1/kv/payments/config/pool")
            #expect(get.status == 200)
            let entries = try #require(get.json as? [[String: Any]])
            let modify = try #require(entries.first?["ModifyIndex"] as? Int)
            #expect(get.body == #"[{"LockIndex":0,"Key":"payments/config/pool","Flags":0,"Value":"eyJjb25ucyI6MzB9","CreateIndex":\#(modify),"ModifyIndex":\#(modify)}]"#)
            #expect(Self.index(get) == UInt64(modify))  // a found key's index is its own ModifyIndex
            #expect(get.headers.first(name: "X-Consul-Knownleader") == "true")

            // Written again, with flags: a new ModifyIndex, the same CreateIndex; an empty value is null.
            #expect(try await T.raw(agent, .PUT, "/v1/kv/payments/config/pool?flags=7", body: "x").body == "true")
            #expect(try await T.raw(agent, .PUT, "/v1/kv/payments/config/timeout?flags=42").body == "true")
            #expect(try await T.raw(agent, .PUT, "/v1/kv/payments/owner", body: "team-a").body == "true")
            let list = try await T.raw(agent, .GET, "/v1/kv/payments/config/?recurse")
            let listed = try #require(list.json as? [[String: Any]])
            let fixture = try #require(try JSONSerialization.jsonObject(with: Data(ConsulClientTests.fixture("kv-get-recurse.json").utf8)) as? [[String: Any]])
            #expect(listed.map { $0["Key"] as? String } == ["payments/config/pool", "payments/config/timeout"])
            #expect(T.sameShape(listed[0], fixture[0]) == [] && T.sameShape(listed[1], fixture[1]) == [])
            #expect(listed[0]["CreateIndex"] as? Int == modify && (listed[0]["ModifyIndex"] as? Int ?? 0) > modify)
            #expect(listed[0]["Flags"] as? Int == 7 && listed[1]["Flags"] as? Int == 42)
            #expect(listed[1]["Value"] is NSNull)
            #expect(Self.index(list) == listed.compactMap { ($0["ModifyIndex"] as? Int).map(UInt64.init) }.max())

            let keys = try await T.raw(agent, .GET, "/v1/kv/payments/?keys&separator=/")
            #expect(keys.json as? [String] == (try JSONSerialization.jsonObject(with: Data(ConsulClientTests.fixture("kv-keys-separator.json").utf8)) as? [String]))
            #expect(try await T.raw(agent, .GET, "/v1/kv/payments/?keys").json as? [String] == ["payments/config/pool", "payments/config/timeout", "payments/owner"])
            // "seperator", Consul's historic spelling, still works.
            #expect(try await T.raw(agent, .GET, "/v1/kv/payments/?keys&seperator=/").json as? [String] == ["payments/config/", "payments/owner"])

            let raw = try await T.raw(agent, .GET, "/v1/kv/payments/owner?raw")
            #expect(raw.status == 200 && raw.body == "team-a")
            #expect(raw.headers.first(name: "Content-Type") == "text/plain" && raw.headers.first(name: "X-Content-Type-Options") == "nosniff")

            // Not found: 404, no body, and still an index to block on.
            for path in ["/v1/kv/payments/nothing", "/v1/kv/nothing/?recurse", "/v1/kv/nothing/?keys"] {
                let missing = try await T.raw(agent, .GET, path)
                #expect(missing.status == 404 && missing.body.isEmpty, "\(path)")
                #expect((Self.index(missing) ?? 0) >= 1, "\(path)")
            }
        }
    }

    @Test func checkAndSetWritesOnlyAtTheIndexItNames() async throws {
        try await withDevAgent { agent, _ in
            #expect(try await T.raw(agent, .PUT, "/v1/kv/run/start_at?cas=0", body: "a").body == "true")
            #expect(try await T.raw(agent, .PUT, "/v1/kv/run/start_at?cas=0", body: "b").body == "false")  // exists already
            let index = try #require(Self.index(try await T.raw(agent, .GET, "/v1/kv/run/start_at")))
            #expect(try await T.raw(agent, .PUT, "/v1/kv/run/start_at?cas=\(index + 5)", body: "c").body == "false")
            #expect(try await T.raw(agent, .PUT, "/v1/kv/run/start_at?cas=\(index)", body: "d").body == "true")
            #expect(try await T.raw(agent, .GET, "/v1/kv/run/start_at?raw").body == "d")
            let now = try #require(Self.index(try await T.raw(agent, .GET, "/v1/kv/run/start_at")))
            #expect(now > index)
            // A CAS delete at the wrong index keeps the key; at its index deletes it; of a missing key is true.
            #expect(try await T.raw(agent, .DELETE, "/v1/kv/run/start_at?cas=\(index)").body == "false")
            #expect(try await T.raw(agent, .GET, "/v1/kv/run/start_at").status == 200)
            #expect(try await T.raw(agent, .DELETE, "/v1/kv/run/start_at?cas=\(now)").body == "true")
            #expect(try await T.raw(agent, .GET, "/v1/kv/run/start_at").status == 404)
            #expect(try await T.raw(agent, .DELETE, "/v1/kv/run/start_at?cas=1").body == "true")
            // A recursive delete; the prefix's index moves with it (the deletes' tombstones).
            for i in 1...3 { _ = try await T.raw(agent, .PUT, "/v1/kv/run/agents/\(i)", body: "\(i)") }
            let before = try #require(Self.index(try await T.raw(agent, .GET, "/v1/kv/run/agents/?recurse")))
            #expect(try await T.raw(agent, .DELETE, "/v1/kv/run/agents/?recurse").body == "true")
            let gone = try await T.raw(agent, .GET, "/v1/kv/run/agents/?recurse")
            #expect(gone.status == 404 && (Self.index(gone) ?? 0) > before)
        }
    }

    @Test func aBlockingQueryWaitsForItsOwnKeyOrPrefixNotForOthers() async throws {
        try await withDevAgent { agent, client in
            try await client.kvPut("run/start_at", value: Array("first".utf8))
            let (pair, index) = try await client.kv("run/start_at")
            #expect(pair?.value == Array("first".utf8) && index == pair?.modifyIndex)
            async let blocked = client.kv("run/start_at", index: index, wait: .seconds(120))
            try await Self.waitUntil("the query blocks") { agent.blockedQueries == 1 }
            // Another key changes: the query wakes, finds its own key unchanged, and waits again.
            try await client.kvPut("run/other", value: [1])
            try await client.kvPut("run/start_at", value: Array("second".utf8))
            let (changed, newIndex) = try await blocked
            #expect(changed?.value == Array("second".utf8) && newIndex > index)
            #expect(agent.blockedQueries == 0)

            // A prefix query wakes when a key under it is written, or deleted.
            let (listed, listIndex) = try await client.kvList(prefix: "run/")
            #expect(listed.map(\.key) == ["run/other", "run/start_at"])
            async let deleted = client.kvList(prefix: "run/", index: listIndex, wait: .seconds(120))
            try await Self.waitUntil("the list blocks") { agent.blockedQueries == 1 }
            try await client.kvPut("elsewhere", value: [2])
            try await client.kvDelete("run/other")
            let (after, afterIndex) = try await deleted
            #expect(after.map(\.key) == ["run/start_at"] && afterIndex > listIndex)

            // Nothing changes: the wait runs out and the same index comes back.
            let (same, sameIndex) = try await client.kv("run/start_at", index: newIndex, wait: .milliseconds(200))
            #expect(same?.value == Array("second".utf8) && sameIndex == newIndex)
            // A key that does not exist: nil, with an index.
            let (none, noneIndex) = try await client.kv("run/nothing")
            #expect(none == nil && noneIndex >= 1)
        }
    }

    @Test func badRequestsGetConsulsOwnErrors() async throws {
        try await withDevAgent { agent, _ in
            let cases: [(HTTPMethod, String, String?, Int, String)] = [
                (.PUT, "/v1/kv/", "x", 400, "Missing key name"),
                (.GET, "/v1/kv/", nil, 400, "Missing key name"),
                (.PUT, "/v1/kv/a%20b", "x", 400, "key contains invalid character ' ' at position 1. Only alphanumeric characters and ,-_./ are allowed"),
                (.PUT, "/v1/kv//a", "x", 400, "key must not begin with a '/'"),
                (.PUT, "/v1/kv/report.json", "x", 400, "key contains suspicious file extension '.json' that may be cached by proxies"),
                (.PUT, "/v1/kv/a?cas=0&acquire=s1", "x", 400, "Conflicting flags: acquire=s1&cas=0"),
                (.DELETE, "/v1/kv/a?recurse&cas=3", nil, 400, "Conflicting flags: cas=3&recurse="),
                (.PUT, "/v1/kv/a?flags=abc", "x", 500, #"strconv.ParseUint: parsing "abc": invalid syntax"#),
                (.PUT, "/v1/kv/a?cas=-1", "x", 500, #"strconv.ParseUint: parsing "-1": invalid syntax"#),
                (.PUT, "/v1/kv/a?acquire=s1", "x", 500, #"Invalid session "s1""#),
                (.POST, "/v1/kv/a", "x", 405, "method POST not allowed"),
                (.PUT, "/v1/kv/big", String(repeating: "x", count: 512 * 1024 + 1), 413,
                 "Request body(524289 bytes) too large, max size: 524288 bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size."),
            ]
            for (method, path, body, status, message) in cases {
                let r = try await T.raw(agent, method, path, body: body)
                #expect(r.status == status && r.body.trimmingCharacters(in: .newlines) == message, "\(method) \(path): \(r.status) \(r.body)")
            }
            // Exactly 512 KiB is allowed.
            #expect(try await T.raw(agent, .PUT, "/v1/kv/big", body: String(repeating: "x", count: 512 * 1024)).body == "true")
        }
    }

    @Test func withACLsTheAnonymousTokenNeitherReadsNorWritesKeys() async throws {
        try await withDevAgent(aclToken: "s3cr3t") { agent, client in
            try await client.kvPut("run/agents/1", value: [1])  // the agent's token may
            let write = try await T.raw(agent, .PUT, "/v1/kv/run/agents/2", body: "x")
            #expect(write.status == 403 && write.body.hasPrefix(#"Permission denied: anonymous token lacks permission 'key:write' on "run/agents/2""#))
            let read = try await T.raw(agent, .GET, "/v1/kv/run/agents/1")
            #expect(read.status == 403 && read.body.hasPrefix(#"Permission denied: anonymous token lacks permission 'key:read' on "run/agents/1""#))
            let list = try await T.raw(agent, .GET, "/v1/kv/run/?recurse")
            #expect(list.status == 404 && list.headers.first(name: "X-Consul-Results-Filtered-By-ACLs") == "true")
            #expect(try await T.raw(agent, .GET, "/v1/kv/run/?recurse", token: "s3cr3t").status == 200)
            #expect(try await T.raw(agent, .GET, "/v1/kv/run/?recurse", token: "wrong").status == 403)
            // The client's error names the permission it lacks.
            let anonymous = try ConsulClient(settings: ConsulSettings(hostPort: agent.address))
            do throws(ConsulError) {
                try await anonymous.kvPut("run/agents/3", value: [3])
                Issue.record("an anonymous write succeeded")
            } catch {
                #expect(error.kind == .forbidden && error.description.contains("key:write"), "\(error)")
            }
            try await anonymous.shutdown()
        }
    }

    /// py-consul (PyPI), a client written against real Consul, reads and writes consul-dev's store: check-and-set,
    /// a blocking get (woken by a write this test makes once the agent holds the query), a recursive get, a key
    /// listing, a recursive delete.
    @Test func pyConsulAgreesWithConsulDev() async throws {
        let probe = try await Tool.exec("python3", ["-c", "import consul"])
        try #require(probe.status == 0, "py-consul is not installed: run scripts/bootstrap.sh --tests")
        try await withDevAgent { agent, client in
            let script = """
            import consul, json
            c = consul.Consul(host="127.0.0.1", port=\(agent.port))
            out = {}
            out["cas_new"] = c.kv.put("mp/runs/r1/start_at", "t0", cas=0)
            out["cas_again"] = c.kv.put("mp/runs/r1/start_at", "t1", cas=0)
            index, data = c.kv.get("mp/runs/r1/start_at")
            out["value"] = data["Value"].decode()
            out["index_is_modify"] = int(index) == data["ModifyIndex"]
            out["cas_at_index"] = c.kv.put("mp/runs/r1/start_at", "t2", cas=data["ModifyIndex"])
            index, data = c.kv.get("mp/runs/r1/start_at")
            new_index, new_data = c.kv.get("mp/runs/r1/start_at", index=index, wait="60s")
            out["woken_value"] = new_data["Value"].decode()
            out["woken_later"] = int(new_index) > int(index)
            for i in (1, 2, 3):
                c.kv.put("mp/runs/r1/agents/%d" % i, json.dumps({"shard": i}))
            _, listed = c.kv.get("mp/runs/r1/agents/", recurse=True)
            out["recurse"] = [e["Key"] for e in listed]
            _, keys = c.kv.get("mp/runs/", keys=True, separator="/")
            out["keys"] = keys
            out["delete"] = c.kv.delete("mp/runs/r1/", recurse=True)
            _, gone = c.kv.get("mp/runs/r1/start_at")
            out["gone"] = gone is None
            print(json.dumps(out, sort_keys=True))
            """
            let python = try Tool.start(program: URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script])
            // The script's blocking get is held by the agent: this write is what wakes it.
            try await Self.waitUntil("py-consul's blocking get") { agent.blockedQueries == 1 || !python.process.isRunning }
            try await client.kvPut("mp/runs/r1/start_at", value: Array("t3".utf8))
            try await python.wait(timeout: 60)
            #expect(python.process.terminationStatus == 0, "\(python.stderr)")
            let out = try #require(try JSONSerialization.jsonObject(with: Data(python.stdout.utf8)) as? [String: Any], "\(python.stdout) \(python.stderr)")
            #expect(out["cas_new"] as? Bool == true && out["cas_again"] as? Bool == false && out["cas_at_index"] as? Bool == true)
            #expect(out["value"] as? String == "t0" && out["index_is_modify"] as? Bool == true)
            #expect(out["woken_value"] as? String == "t3" && out["woken_later"] as? Bool == true)
            #expect(out["recurse"] as? [String] == ["mp/runs/r1/agents/1", "mp/runs/r1/agents/2", "mp/runs/r1/agents/3"])
            #expect(out["keys"] as? [String] == ["mp/runs/r1/"])
            #expect(out["delete"] as? Bool == true && out["gone"] as? Bool == true)
        }
    }
}
