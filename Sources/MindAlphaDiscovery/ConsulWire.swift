import Foundation
import MindAlphaPool

/// The parts of Consul's JSON the client reads (field names as Consul writes them; the rest is ignored).
package enum ConsulWire {
    struct ServiceEntry: Decodable {
        var Node: Node
        var Service: Service
        var Checks: [Check]?
    }

    struct Node: Decodable {
        var Node: String
        var Address: String
    }

    struct Service: Decodable {
        var ID: String
        var Service: String
        var Tags: [String]?
        var Address: String
        var Meta: [String: String]?
        var Port: Int
        var Weights: Weights?
    }

    struct Weights: Decodable {
        var Passing: Int
        var Warning: Int?
    }

    struct Check: Decodable {
        var CheckID: String
        var Name: String
        var Status: String
        var Output: String?
    }
}

extension ConsulWire {
    /// The instances in the body of `GET /v1/health/service/<name>`, as the client reads them.
    package static func instances(fromHealthJSON body: Data) throws -> [Instance] {
        try JSONDecoder().decode([ServiceEntry].self, from: body).map(Instance.init)
    }
}

extension Instance {
    init(_ entry: ConsulWire.ServiceEntry) {
        let own = entry.Service.Address
        self.init(
            host: own.isEmpty ? entry.Node.Address : own,
            port: entry.Service.Port,
            serviceID: entry.Service.ID,
            serviceName: entry.Service.Service,
            node: entry.Node.Node,
            tags: entry.Service.Tags ?? [],
            checks: (entry.Checks ?? []).map { Check(id: $0.CheckID, name: $0.Name, status: CheckStatus(consul: $0.Status), output: $0.Output ?? "") },
            consulWeight: entry.Service.Weights?.Passing ?? 1,
            balanceFactor: entry.Service.Meta?["balanceFactor"],
            addressFromNode: own.isEmpty)
    }
}
