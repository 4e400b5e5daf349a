import MindAlphaPool

/// `discover --json`: what Consul lists for a service, with the weights and shares production clients compute and
/// the registration lint. Keys are the property names; `Output.json` sorts them.
public struct DiscoveryReport: Encodable, Sendable {
    public var service: String
    /// Where Consul was asked (`host:port`).
    public var consul: String
    /// The `X-Consul-Index` of the answer.
    public var index: UInt64?
    /// Every instance listed, in schedule order.
    public var instances: [InstanceEntry]
    public var lint: [LintEntry]
    public var summary: Summary

    public struct InstanceEntry: Encodable, Sendable {
        public var address: String
        public var host: String
        public var port: Int
        public var weight: Int
        /// Of the passing instances' picks; 0 for one not passing.
        public var share: Double
        public var consulWeight: Int
        public var balanceFactor: String?
        public var goAddress: String
        public var node: String
        public var serviceID: String
        public var tags: [String]
        public var status: String
        public var checks: [Check]

        public init(_ i: Instance, fleet: Fleet) {
            address = i.address
            host = i.host
            port = i.port
            weight = i.weight
            share = i.status == .passing ? (fleet.share(of: i) * 1e6).rounded() / 1e6 : 0
            consulWeight = i.consulWeight
            balanceFactor = i.balanceFactor
            goAddress = i.goAddress
            node = i.node
            serviceID = i.serviceID
            tags = i.tags
            status = i.status.rawValue
            checks = i.checks.map { Check(id: $0.id, name: $0.name, status: $0.status.rawValue, output: $0.output) }
        }
    }

    public struct Check: Encodable, Sendable { public var id, name, status, output: String }

    public struct Summary: Encodable, Sendable { public var instances, passing, totalWeight, gcd, cycleLength: Int }

    /// `instances` as Consul listed them (all, or passing only); the fleet is made of the passing ones.
    public init(service: String, consul: String, index: UInt64?, instances: [Instance], findings: [LintFinding]) {
        let fleet = Fleet(instances.filter { $0.status == .passing })
        self.service = service
        self.consul = consul
        self.index = index
        self.instances = Fleet(instances).instances.map { InstanceEntry($0, fleet: fleet) }
        lint = findings.map { LintEntry($0) }
        summary = Summary(instances: instances.count, passing: fleet.instances.count, totalWeight: fleet.totalWeight,
                          gcd: fleet.gcd, cycleLength: fleet.cycleLength)
    }

    /// One line of `discover --watch --json` for an instance that was added, removed or re-weighted.
    public struct Change: Encodable, Sendable {
        public var event: String
        public var address: String
        public var serviceID: String
        public var weight: Int
        public var previousWeight: Int?
        /// Why a removed instance left: `deregistered`, `check critical`, `check warning`.
        public var reason: String?
        public var index: UInt64
        public var time: String

        public init(event: String, address: String, serviceID: String, weight: Int, previousWeight: Int? = nil,
                    reason: String? = nil, index: UInt64, time: String) {
            self.event = event
            self.address = address
            self.serviceID = serviceID
            self.weight = weight
            self.previousWeight = previousWeight
            self.reason = reason
            self.index = index
            self.time = time
        }
    }

    /// One line of `discover --watch --json` that is not an instance's change: lint, an empty set, an outage.
    public struct Notice: Encodable, Sendable {
        public var event: String
        public var message: String
        public var code: String?
        public var severity: String?
        public var index: UInt64?
        public var time: String

        public init(event: String, message: String, code: String? = nil, severity: String? = nil, index: UInt64? = nil, time: String) {
            self.event = event
            self.message = message
            self.code = code
            self.severity = severity
            self.index = index
            self.time = time
        }
    }
}

/// A registration-lint finding in `discover --json` and `schedule --json`.
public struct LintEntry: Encodable, Sendable {
    public var code, severity, message: String
    public var serviceIDs: [String]

    /// `effect` says what the finding does to what the command shows.
    public init(_ finding: LintFinding, effect: String = "") {
        code = finding.code.rawValue
        severity = finding.severity.rawValue
        message = finding.message + effect
        serviceIDs = finding.serviceIDs
    }
}
