import Foundation
import NIOConcurrencyHelpers

/// The agent's catalog: one node, its services and checks, and a Raft-like index that grows with every change.
/// Thread-safe; blocking queries register waiters that run when their service changes.
final class AgentState: Sendable {
    struct Node {
        var id: String
        var name: String
        var address: String
        var datacenter: String
        var createIndex: UInt64
    }

    struct Service {
        var id: String
        var name: String
        var tags: [String]
        var address: String
        var port: Int
        var meta: [String: String]?
        var weightsPassing: Int
        var weightsWarning: Int
        var enableTagOverride: Bool
        var createIndex: UInt64
        var modifyIndex: UInt64
    }

    struct Check {
        enum Kind: String { case ttl, tcp, http, node = "" }
        var id: String
        var name: String
        var serviceID: String
        var serviceName: String
        var serviceTags: [String]
        var kind: Kind
        var status: String
        var output: String
        var notes: String
        var interval: String
        var timeout: String
        var ttl: Duration?
        var target: String?
        var deregisterCriticalAfter: Duration?
        var criticalSince: ContinuousClock.Instant?
        var createIndex: UInt64
        var modifyIndex: UInt64
    }

    /// What a blocking query waits on: one service's instances and checks, or the key/value store.
    enum Topic: Hashable, Sendable {
        case service(String)
        case kv
    }

    struct Store {
        var index: UInt64 = 12
        var node: Node
        var nodeCheck: Check
        var services: [String: Service] = [:]
        var checks: [String: Check] = [:]
        /// The index of the last change that touched a service name (registration, removal, check status).
        var serviceIndex: [String: UInt64] = [:]
        var waiters: [Topic: [UInt64: @Sendable () -> Void]] = [:]
        var nextWaiter: UInt64 = 0
        var kv = KVTable()

        mutating func bump(_ names: [String]) -> UInt64 {
            index += 1
            for name in names { serviceIndex[name] = index }
            return index
        }
    }

    let store: NIOLockedValueBox<Store>
    let version = "1.21.3"

    init(nodeName: String, datacenter: String, address: String) {
        let node = Node(id: UUID().uuidString.lowercased(), name: nodeName, address: address, datacenter: datacenter, createIndex: 11)
        let serf = Check(
            id: "serfHealth", name: "Serf Health Status", serviceID: "", serviceName: "", serviceTags: [], kind: .node,
            status: "passing", output: "Agent alive and reachable", notes: "", interval: "", timeout: "", ttl: nil, target: nil,
            deregisterCriticalAfter: nil, criticalSince: nil, createIndex: 11, modifyIndex: 11)
        store = NIOLockedValueBox(Store(node: node, nodeCheck: serf))
    }

    var node: Node { store.withLockedValue { $0.node } }
    var index: UInt64 { store.withLockedValue { $0.index } }

    /// An instance of a service with its checks, node check first.
    struct Entry {
        var node: Node
        var service: Service
        var checks: [Check]
    }

    /// The service's instances, filtered; and the index clients block on.
    func health(service name: String, passingOnly: Bool, tags: [String]) -> (entries: [Entry], index: UInt64) {
        store.withLockedValue { s in
            let services = s.services.values.filter { $0.name == name }.sorted { $0.id < $1.id }
            var entries: [Entry] = []
            for service in services {
                let checks = [s.nodeCheck] + s.checks.values.filter { $0.serviceID == service.id }.sorted { $0.id < $1.id }
                if passingOnly, checks.contains(where: { $0.status != "passing" }) { continue }
                if !tags.allSatisfy({ service.tags.contains($0) }) { continue }
                entries.append(Entry(node: s.node, service: service, checks: checks))
            }
            return (entries, max(s.serviceIndex[name] ?? s.node.createIndex, 1))
        }
    }

    /// Every service name with its de-duplicated tags.
    /// Every service with its tags; `consul` itself is listed, as a real server lists the service it registers
    /// for itself (this agent does not answer health queries for it).
    func catalogServices() -> (services: [String: [String]], index: UInt64) {
        store.withLockedValue { s in
            var result: [String: [String]] = ["consul": []]
            for service in s.services.values {
                var tags = result[service.name] ?? []
                for tag in service.tags where !tags.contains(tag) { tags.append(tag) }
                result[service.name] = tags
            }
            return (result, s.index)
        }
    }

    func services() -> [Service] { store.withLockedValue { Array($0.services.values).sorted { $0.id < $1.id } } }

    func check(_ id: String) -> Check? { store.withLockedValue { $0.checks[id] } }

    func allChecks() -> [Check] { store.withLockedValue { Array($0.checks.values) } }

    /// Adds or replaces a service and its checks.
    func register(_ service: Service, checks: [Check]) {
        let wake = store.withLockedValue { s -> [@Sendable () -> Void] in
            var names = [service.name]
            if let old = s.services[service.id] {
                names.append(old.name)
                s.checks = s.checks.filter { $0.value.serviceID != service.id }
            }
            let index = s.bump(names)
            var service = service
            service.createIndex = s.services[service.id]?.createIndex ?? index
            service.modifyIndex = index
            s.services[service.id] = service
            for var check in checks {
                check.createIndex = index
                check.modifyIndex = index
                if check.status == "critical" { check.criticalSince = .now }
                s.checks[check.id] = check
            }
            return Self.takeWaiters(&s, names)
        }
        wake.forEach { $0() }
    }

    /// Removes a service and its checks; `false` when there is no such service.
    func deregister(serviceID: String) -> Bool {
        let wake = store.withLockedValue { s -> [@Sendable () -> Void]? in
            guard let old = s.services.removeValue(forKey: serviceID) else { return nil }
            s.checks = s.checks.filter { $0.value.serviceID != serviceID }
            _ = s.bump([old.name])
            return Self.takeWaiters(&s, [old.name])
        }
        wake?.forEach { $0() }
        return wake != nil
    }

    /// Sets a check's status and output; the index moves only when the status changes, as Consul's anti-entropy
    /// sync does. `false` when there is no such check.
    @discardableResult
    func update(checkID: String, status: String, output: String) -> Bool {
        let wake = store.withLockedValue { s -> [@Sendable () -> Void]? in
            guard var check = s.checks[checkID] else { return nil }
            let changed = check.status != status
            check.output = output
            if changed {
                check.status = status
                check.criticalSince = status == "critical" ? .now : nil
                check.modifyIndex = s.bump([check.serviceName])
            }
            s.checks[checkID] = check
            return changed ? Self.takeWaiters(&s, [check.serviceName]) : []
        }
        wake?.forEach { $0() }
        return wake != nil
    }

    /// A fresh waiter token.
    func nextToken() -> UInt64 {
        store.withLockedValue { s in
            s.nextWaiter += 1
            return s.nextWaiter
        }
    }

    /// Registers `wake` to run once when `topic` changes; `token` is for ``cancelWaiter(_:topic:)``.
    func addWaiter(topic: Topic, token: UInt64, _ wake: @escaping @Sendable () -> Void) {
        store.withLockedValue { s in s.waiters[topic, default: [:]][token] = wake }
    }

    /// How many blocking queries wait.
    var waiterCount: Int { store.withLockedValue { $0.waiters.values.reduce(0) { $0 + $1.count } } }

    func cancelWaiter(_ token: UInt64, topic: Topic) {
        store.withLockedValue { s in _ = s.waiters[topic]?.removeValue(forKey: token) }
    }

    private static func takeWaiters(_ s: inout Store, _ names: [String]) -> [@Sendable () -> Void] {
        takeWaiters(&s, topics: Set(names).map(Topic.service))
    }

    static func takeWaiters(_ s: inout Store, topics: [Topic]) -> [@Sendable () -> Void] {
        var wake: [@Sendable () -> Void] = []
        for topic in topics {
            wake += s.waiters.removeValue(forKey: topic)?.values.map { $0 } ?? []
        }
        return wake
    }
}
