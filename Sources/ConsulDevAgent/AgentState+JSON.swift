/// Renders the catalog in the exact shape of Consul's JSON (`Tests/Fixtures/consul/`).
extension AgentState {
    func json(_ node: Node) -> JSONValue {
        .object([
            ("ID", .string(node.id)),
            ("Node", .string(node.name)),
            ("Address", .string(node.address)),
            ("Datacenter", .string(node.datacenter)),
            ("TaggedAddresses", taggedNodeAddresses(node)),
            ("Meta", .map(nodeMeta)),
            ("CreateIndex", .int(Int(node.createIndex))),
            ("ModifyIndex", .int(Int(node.createIndex + 1))),
        ])
    }

    var nodeMeta: [String: String] { ["consul-network-segment": "", "consul-version": version] }

    func taggedNodeAddresses(_ node: Node) -> JSONValue {
        let v6 = node.address.contains(":")
        return .map(["lan": node.address, v6 ? "lan_ipv6" : "lan_ipv4": node.address, "wan": node.address, v6 ? "wan_ipv6" : "wan_ipv4": node.address])
    }

    /// `lan_ipv4`/`wan_ipv4` (or ipv6) objects, only when the service's address is an IP (as the agent adds them).
    func taggedServiceAddresses(_ service: Service) -> JSONValue? {
        let address = service.address
        let isV4 = address.split(separator: ".").count == 4 && address.allSatisfy { $0.isNumber || $0 == "." }
        let isV6 = address.contains(":")
        guard isV4 || isV6 else { return nil }
        let entry = JSONValue.object([("Address", .string(address)), ("Port", .int(service.port))])
        let suffix = isV4 ? "ipv4" : "ipv6"
        return .object([("lan_\(suffix)", entry), ("wan_\(suffix)", entry)])
    }

    static let proxy = JSONValue.object([("Mode", .string("")), ("MeshGateway", .object([])), ("Expose", .object([]))])

    func json(_ service: Service) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("ID", .string(service.id)),
            ("Service", .string(service.name)),
            ("Tags", .strings(service.tags)),
            ("Address", .string(service.address)),
        ]
        if let tagged = taggedServiceAddresses(service) { pairs.append(("TaggedAddresses", tagged)) }
        pairs += [
            ("Meta", service.meta.map(JSONValue.map) ?? .null),
            ("Port", .int(service.port)),
            ("Weights", .object([("Passing", .int(service.weightsPassing)), ("Warning", .int(service.weightsWarning))])),
            ("EnableTagOverride", .bool(service.enableTagOverride)),
            ("Proxy", Self.proxy),
            ("Connect", .object([])),
            ("PeerName", .string("")),
            ("CreateIndex", .int(Int(service.createIndex))),
            ("ModifyIndex", .int(Int(service.modifyIndex))),
        ]
        return .object(pairs)
    }

    func json(_ check: Check, node: Node) -> JSONValue {
        .object([
            ("Node", .string(node.name)),
            ("CheckID", .string(check.id)),
            ("Name", .string(check.name)),
            ("Status", .string(check.status)),
            ("Notes", .string(check.notes)),
            ("Output", .string(check.output)),
            ("ServiceID", .string(check.serviceID)),
            ("ServiceName", .string(check.serviceName)),
            ("ServiceTags", .strings(check.serviceTags)),
            ("Type", .string(check.kind.rawValue)),
            ("Interval", .string(check.interval)),
            ("Timeout", .string(check.timeout)),
            ("ExposedPort", .int(0)),
            ("Definition", .object([])),
            ("CreateIndex", .int(Int(check.createIndex))),
            ("ModifyIndex", .int(Int(check.modifyIndex))),
        ])
    }

    func json(_ entry: Entry) -> JSONValue {
        .object([
            ("Node", json(entry.node)),
            ("Service", json(entry.service)),
            ("Checks", .array(entry.checks.map { json($0, node: entry.node) })),
        ])
    }

    /// One element of `GET /v1/catalog/service/:name`.
    func catalogJSON(_ service: Service) -> JSONValue {
        let node = self.node
        return .object([
            ("ID", .string(node.id)),
            ("Node", .string(node.name)),
            ("Address", .string(node.address)),
            ("Datacenter", .string(node.datacenter)),
            ("TaggedAddresses", taggedNodeAddresses(node)),
            ("NodeMeta", .map(nodeMeta)),
            ("ServiceKind", .string("")),
            ("ServiceID", .string(service.id)),
            ("ServiceName", .string(service.name)),
            ("ServiceTags", .strings(service.tags)),
            ("ServiceAddress", .string(service.address)),
            ("ServiceTaggedAddresses", taggedServiceAddresses(service) ?? .null),
            ("ServiceWeights", .object([("Passing", .int(service.weightsPassing)), ("Warning", .int(service.weightsWarning))])),
            ("ServiceMeta", .map(service.meta ?? [:])),
            ("ServicePort", .int(service.port)),
            ("ServiceSocketPath", .string("")),
            ("ServiceEnableTagOverride", .bool(service.enableTagOverride)),
            ("ServiceProxy", Self.proxy),
            ("ServiceConnect", .object([])),
            ("ServicePeerName", .string("")),
            ("CreateIndex", .int(Int(service.createIndex))),
            ("ModifyIndex", .int(Int(service.modifyIndex))),
        ])
    }
}
