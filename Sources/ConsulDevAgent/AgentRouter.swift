import Foundation
import NIOCore
import NIOHTTP1

/// Routes requests to the endpoints, answering as real Consul does: paths, methods, query parameters, status
/// codes, error texts and the `X-Consul-*` headers on every read.
package final class AgentRouter: Sendable {
    let state: AgentState
    let checks: CheckRunner
    /// With a token set, ACLs are on with default policy deny: that token may do anything, no token is anonymous
    /// (reads filtered to nothing, writes denied), any other token is `ACL not found`.
    let aclToken: String?

    init(state: AgentState, checks: CheckRunner, aclToken: String?) {
        self.state = state
        self.checks = checks
        self.aclToken = aclToken
    }

    enum Access { case full, anonymous }

    func handle(_ request: AgentRequest) -> AgentReply {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard segments.count >= 2, segments[1] == "v1" else {
            return .text(.notFound, "404 page not found\n")
        }
        let route = Array(segments.dropFirst(2))
        func allow(_ methods: [HTTPMethod], _ body: () -> AgentReply) -> AgentReply {
            if request.method == .OPTIONS {
                return .response(.ok, headers: [("Allow", (["OPTIONS"] + methods.map(\.rawValue)).joined(separator: ","))], body: nil)
            }
            guard methods.contains(request.method) else {
                return .text(.methodNotAllowed, "method \(request.method.rawValue) not allowed",
                             headers: [("Allow", (["OPTIONS"] + methods.map(\.rawValue)).joined(separator: ","))])
            }
            return body()
        }
        let access: Access
        if let acl = aclToken {
            switch request.token {
            case acl?: access = .full
            case nil: access = .anonymous
            case _?: return .text(.forbidden, "ACL not found")
            }
        } else {
            access = .full
        }
        switch route {
        case let r where r.count == 3 && r[0] == "health" && r[1] == "service" && !r[2].isEmpty:
            return allow([.GET]) { health(request, service: r[2], access: access) }
        case ["catalog", "services"]:
            return allow([.GET]) { catalogServices(request, access: access) }
        case let r where r.count == 3 && r[0] == "catalog" && r[1] == "service" && !r[2].isEmpty:
            return allow([.GET]) { catalogService(request, service: r[2], access: access) }
        case let r where r.count >= 2 && r[0] == "kv":
            return allow([.GET, .PUT, .DELETE]) { kv(request, key: r.dropFirst().joined(separator: "/"), access: access) }
        case ["status", "leader"]:
            return allow([.GET]) { .response(.ok, headers: [("Content-Type", "application/json")], body: "\"127.0.0.1:8300\"") }
        case ["agent", "self"]:
            return allow([.GET]) { access == .full ? agentSelf() : denied("agent:read", state.node.name) }
        case ["agent", "service", "register"]:
            return allow([.PUT]) { access == .full ? register(request) : denied("service:write", "") }
        case let r where r.count == 4 && r[0] == "agent" && r[1] == "service" && r[2] == "deregister":
            return allow([.PUT]) { access == .full ? deregister(r[3]) : denied("service:write", r[3]) }
        case let r where r.count == 4 && r[0] == "agent" && r[1] == "check" && ["pass", "warn", "fail"].contains(r[2]):
            return allow([.PUT]) { access == .full ? updateTTL(r[3], verb: r[2], note: request.value("note") ?? "") : denied("service:write", r[3]) }
        default:
            return .text(.notFound, "Invalid URL path: not a recognized HTTP API endpoint")
        }
    }

    func denied(_ permission: String, _ resource: String) -> AgentReply {
        .text(.forbidden, "Permission denied: anonymous token lacks permission '\(permission)' on \"\(resource)\". The anonymous token is used implicitly when a request does not specify a token.")
    }

    // MARK: reads

    /// Headers Consul puts on every read (`agent/http.go` setMeta).
    func readHeaders(index: UInt64, consistency: String) -> [(String, String)] {
        [
            ("Content-Type", "application/json"),
            ("Vary", "Accept-Encoding"),
            ("X-Consul-Default-Acl-Policy", aclToken == nil ? "allow" : "deny"),
            ("X-Consul-Effective-Consistency", consistency),
            ("X-Consul-Index", String(max(index, 1))),
            ("X-Consul-Knownleader", "true"),
            ("X-Consul-Lastcontact", "0"),
            ("X-Consul-Query-Backend", "blocking-query"),
        ]
    }

    /// Checks the query parameters every read shares; returns the consistency mode or an error reply.
    func readOptions(_ request: AgentRequest) -> Result<String, ReplyError> {
        let stale = request.has("stale"), consistent = request.has("consistent")
        if stale && consistent {
            return .failure(ReplyError(.text(.badRequest, "Cannot specify ?stale with ?consistent, conflicting semantics.")))
        }
        if let dc = request.value("dc"), !dc.isEmpty, dc != state.node.datacenter {
            return .failure(ReplyError(.text(.internalServerError, "No path to datacenter")))
        }
        return .success(stale ? "stale" : consistent ? "consistent" : "leader")
    }

    struct ReplyError: Error { var reply: AgentReply; init(_ r: AgentReply) { reply = r } }

    private func health(_ request: AgentRequest, service: String, access: Access) -> AgentReply {
        let consistency: String
        switch readOptions(request) {
        case let .success(c): consistency = c
        case let .failure(e): return e.reply
        }
        var passingOnly = false
        if let value = request.value("passing") {
            switch value.lowercased() {
            case "", "1", "t", "true": passingOnly = true
            case "0", "f", "false": passingOnly = false
            default: return .text(.badRequest, "Invalid value for ?passing")
            }
        }
        if let filter = request.value("filter"), !filter.isEmpty {
            return .text(.badRequest, "Failed to create boolean expression evaluator: filter expressions are not implemented by consul-dev")
        }
        let minIndex: UInt64, wait: TimeAmount
        switch blockingOptions(request) {
        case let .success(b): (minIndex, wait) = b
        case let .failure(e): return e.reply
        }
        let tags = request.values("tag")
        let render: @Sendable () -> AgentReply = { [state, passingOnly] in
            let (entries, index) = state.health(service: service, passingOnly: passingOnly, tags: tags)
            let visible = access == .full ? entries : []
            let body = JSONValue.array(visible.map(state.json)).serialized
            return .response(.ok, headers: self.readHeaders(index: index, consistency: consistency), body: body)
        }
        if minIndex > 0, state.health(service: service, passingOnly: passingOnly, tags: tags).index <= minIndex {
            let ready: @Sendable () -> Bool = { [state, passingOnly] in
                state.health(service: service, passingOnly: passingOnly, tags: tags).index > minIndex
            }
            return .block(topic: .service(service), wait: wait, ready: ready, render: render)
        }
        return render()
    }

    /// A blocking query's `?index` (0: none) and `?wait` (default 5 minutes, at most 10), with the jitter of up to
    /// wait/16 that Consul adds so that many watchers do not wake together.
    func blockingOptions(_ request: AgentRequest) -> Result<(index: UInt64, wait: TimeAmount), ReplyError> {
        var minIndex: UInt64 = 0
        if let text = request.value("index") {
            guard let i = UInt64(text) else { return .failure(ReplyError(.text(.badRequest, "Invalid index"))) }
            minIndex = i
        }
        var wait = Duration.seconds(300)
        if let text = request.value("wait") {
            guard let w = GoDuration.parse(text), w >= .zero else { return .failure(ReplyError(.text(.badRequest, "Invalid wait time"))) }
            wait = min(w, .seconds(600))
        }
        return .success((minIndex, TimeAmount(wait + wait / 16 * Double.random(in: 0...1))))
    }

    private func catalogServices(_ request: AgentRequest, access: Access) -> AgentReply {
        let consistency: String
        switch readOptions(request) {
        case let .success(c): consistency = c
        case let .failure(e): return e.reply
        }
        let (services, index) = state.catalogServices()
        let visible = access == .full ? services : [:]
        let body = JSONValue.object(visible.keys.sorted().map { ($0, .strings(visible[$0]!)) }).serialized
        return .response(.ok, headers: readHeaders(index: index, consistency: consistency), body: body)
    }

    private func catalogService(_ request: AgentRequest, service: String, access: Access) -> AgentReply {
        let consistency: String
        switch readOptions(request) {
        case let .success(c): consistency = c
        case let .failure(e): return e.reply
        }
        let tags = request.values("tag")
        let (_, index) = state.health(service: service, passingOnly: false, tags: [])
        let matching = state.services().filter { $0.name == service && tags.allSatisfy($0.tags.contains) }
        let visible = access == .full ? matching : []
        return .response(.ok, headers: readHeaders(index: index, consistency: consistency), body: JSONValue.array(visible.map(state.catalogJSON)).serialized)
    }

    private func agentSelf() -> AgentReply {
        let node = state.node
        let config = JSONValue.object([
            ("Datacenter", .string(node.datacenter)), ("PrimaryDatacenter", .string(node.datacenter)),
            ("NodeName", .string(node.name)), ("NodeID", .string(node.id)), ("Revision", .string("consul-dev")),
            ("Server", .bool(true)), ("Version", .string(state.version)), ("BuildDate", .string("")),
        ])
        let member = JSONValue.object([
            ("Name", .string(node.name)), ("Addr", .string(node.address)), ("Port", .int(8301)),
            ("Tags", .map(["dc": node.datacenter, "role": "consul", "build": state.version])), ("Status", .int(1)),
        ])
        let body = JSONValue.object([("Config", config), ("Member", member), ("Meta", .map(state.nodeMeta))]).serialized
        return .response(.ok, headers: [("Content-Type", "application/json")], body: body)
    }

    // MARK: writes

    private func register(_ request: AgentRequest) -> AgentReply {
        let object: [String: Any]
        do {
            let data = request.body.map { Data($0.readableBytesView) } ?? Data()
            guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                return .text(.badRequest, "Request decode failed: expected a JSON object")
            }
            object = parsed
        } catch {
            return .text(.badRequest, "Request decode failed: \(error.localizedDescription)")
        }
        let body = CaseInsensitive(object)
        guard let name = body.string("Name"), !name.isEmpty else { return .text(.badRequest, "Missing service name") }
        let id = body.string("ID").flatMap { $0.isEmpty ? nil : $0 } ?? name
        var passing = 1, warning = 1
        if let weights = body.object("Weights") {
            passing = weights.int("Passing") ?? 0
            warning = weights.int("Warning") ?? 0
            guard passing >= 1 else { return .text(.badRequest, "Invalid Weights: Passing must be greater than 0") }
            guard warning >= 0 else { return .text(.badRequest, "Invalid Weights: Warning must be greater or equal than 0") }
        }
        let meta = body.stringMap("Meta")
        if let meta, let problem = Self.validate(meta: meta) { return .text(.badRequest, "Invalid Service Meta: \(problem)") }
        let tags = body.strings("Tags") ?? []
        let service = AgentState.Service(
            id: id, name: name, tags: tags, address: body.string("Address") ?? "", port: body.int("Port") ?? 0,
            meta: meta.flatMap { $0.isEmpty ? nil : $0 }, weightsPassing: passing, weightsWarning: warning,
            enableTagOverride: body.bool("EnableTagOverride") ?? false, createIndex: 0, modifyIndex: 0)
        var definitions: [CaseInsensitive] = []
        if let single = body.object("Check") { definitions.append(single) }
        definitions += body.objects("Checks") ?? []
        var checks: [AgentState.Check] = []
        for (n, definition) in definitions.enumerated() {
            let defaultID = definitions.count == 1 ? "service:\(id)" : "service:\(id):\(n + 1)"
            switch CheckRunner.parse(definition, defaultID: defaultID, service: service) {
            case let .success(check): checks.append(check)
            case let .failure(problem): return .text(.badRequest, "Invalid check: \(problem.message)")
            }
        }
        state.register(service, checks: checks)
        checks.forEach(self.checks.start)
        return .response(.ok, headers: [], body: nil)
    }

    static func validate(meta: [String: String]) -> String? {
        if meta.count > 64 { return "Node metadata cannot contain more than 64 key/value pairs" }
        for (key, value) in meta.sorted(by: { $0.key < $1.key }) {
            if key.isEmpty { return "Key cannot be blank" }
            if key.count > 128 { return "Key is too long (limit: 128 characters)" }
            if key.hasPrefix("consul-") { return "Key prefix 'consul-' is reserved for internal use" }
            if !key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
                return "Key contains invalid characters"
            }
            if value.count > 512 { return "Value is too long (limit: 512 characters)" }
        }
        return nil
    }

    private func deregister(_ id: String) -> AgentReply {
        let checkIDs = state.allChecks().filter { $0.serviceID == id }.map(\.id)
        guard state.deregister(serviceID: id) else {
            return .text(.notFound, "Unknown service ID \"\(id)\". Ensure that the service ID is passed, not the service name.")
        }
        checkIDs.forEach(checks.stop)
        return .response(.ok, headers: [], body: nil)
    }

    private func updateTTL(_ id: String, verb: String, note: String) -> AgentReply {
        guard let check = state.check(id) else {
            return .text(.notFound, "Unknown check ID \"\(id)\". Ensure that the check ID is passed, not the check name.")
        }
        guard check.kind == .ttl else {
            return .text(.internalServerError, "CheckID \"\(id)\" does not have associated TTL")
        }
        let status = verb == "pass" ? "passing" : verb == "warn" ? "warning" : "critical"
        state.update(checkID: id, status: status, output: note)
        checks.resetTTL(check)
        return .response(.ok, headers: [], body: nil)
    }
}

/// A JSON object read with Go's case-insensitive field matching.
struct CaseInsensitive {
    let fields: [String: Any]

    init(_ object: [String: Any]) {
        var lowered: [String: Any] = [:]
        for (k, v) in object { lowered[k.lowercased()] = v }
        fields = lowered
    }

    private func raw(_ key: String) -> Any? {
        let v = fields[key.lowercased()]
        return v is NSNull ? nil : v
    }

    func string(_ key: String) -> String? { raw(key) as? String }
    func int(_ key: String) -> Int? { (raw(key) as? NSNumber)?.intValue }
    func bool(_ key: String) -> Bool? { (raw(key) as? NSNumber)?.boolValue }
    func strings(_ key: String) -> [String]? { raw(key) as? [String] }
    func stringMap(_ key: String) -> [String: String]? { raw(key) as? [String: String] }
    func object(_ key: String) -> CaseInsensitive? { (raw(key) as? [String: Any]).map(CaseInsensitive.init) }
    func objects(_ key: String) -> [CaseInsensitive]? { (raw(key) as? [[String: Any]])?.map(CaseInsensitive.init) }
}
