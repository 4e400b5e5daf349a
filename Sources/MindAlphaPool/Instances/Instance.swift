import MindAlphaWire

/// One instance of a service as Consul reports it, with what a MindAlpha-Serving client makes of it.
public struct Instance: Hashable, Sendable {
    /// Where this tool connects: `host:port` (`[v6]:port`). The host is `Service.Address`, or `Node.Address`
    /// when that is empty (as Consul's docs say clients should; see ``addressFromNode``).
    public var address: String
    public var host: String
    public var port: Int
    public var serviceID: String
    public var serviceName: String
    public var node: String
    public var tags: [String]
    /// Every check on the instance, node checks included.
    public var checks: [Check]
    /// `Weights.Passing`, which Consul itself uses only for DNS SRV answers.
    public var consulWeight: Int
    /// The raw `Service.Meta["balanceFactor"]`, `nil` when absent.
    public var balanceFactor: String?
    /// The weight the Go client computes from ``balanceFactor`` (``BalanceFactor/weight(_:)``).
    public var weight: Int
    /// `Service.Address` was empty, so ``host`` is the node's address.
    public var addressFromNode: Bool

    public init(
        host: String, port: Int, serviceID: String, serviceName: String = "", node: String = "", tags: [String] = [],
        checks: [Check] = [], consulWeight: Int = 1, balanceFactor: String? = nil, addressFromNode: Bool = false
    ) {
        self.host = host
        self.port = port
        self.address = HostPort(host: host, port: port).description
        self.serviceID = serviceID
        self.serviceName = serviceName
        self.node = node
        self.tags = tags
        self.checks = checks
        self.consulWeight = consulWeight
        self.balanceFactor = balanceFactor
        self.weight = BalanceFactor.weight(balanceFactor)
        self.addressFromNode = addressFromNode
    }

    /// What the Go client dials: `Service.Address` and port, `":port"` when the address is empty.
    public var goAddress: String { addressFromNode ? ":\(port)" : address }

    /// The worst check status: an instance is passing only when every check is.
    public var status: CheckStatus { checks.map(\.status).max() ?? .passing }

    /// A health check's state.
    public struct Check: Hashable, Sendable {
        public var id: String
        public var name: String
        public var status: CheckStatus
        public var output: String

        public init(id: String, name: String, status: CheckStatus, output: String = "") {
            self.id = id
            self.name = name
            self.status = status
            self.output = output
        }
    }
}

/// Consul's check states, ordered from best to worst.
public enum CheckStatus: String, Hashable, Sendable, Comparable, CaseIterable {
    case passing, warning, critical, maintenance

    public static func < (a: CheckStatus, b: CheckStatus) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Consul's text, unknown ones read as critical.
    public init(consul text: String) { self = CheckStatus(rawValue: text) ?? .critical }
}
