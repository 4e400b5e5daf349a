import MindAlphaPool

/// The body of `PUT /v1/agent/service/register`, with Consul's field names.
public struct ServiceRegistration: Encodable, Hashable, Sendable {
    public var ID: String
    public var Name: String
    public var Tags: [String]
    public var Port: Int
    public var Address: String
    public var Meta: [String: String]
    public var Weights: Weights
    public var Check: CheckDefinition?
    public var Checks: [CheckDefinition]?

    public struct Weights: Encodable, Hashable, Sendable {
        public var Passing: Int
        public var Warning: Int
    }

    /// A TTL, TCP or HTTP check.
    public struct CheckDefinition: Encodable, Hashable, Sendable {
        public var CheckID: String?
        public var Name: String?
        public var TTL: String?
        public var TCP: String?
        public var HTTP: String?
        public var Interval: String?
        public var Timeout: String?
        public var Status: String?
        public var DeregisterCriticalServiceAfter: String?

        public init(
            CheckID: String? = nil, Name: String? = nil, TTL: String? = nil, TCP: String? = nil, HTTP: String? = nil,
            Interval: String? = nil, Timeout: String? = nil, Status: String? = nil, DeregisterCriticalServiceAfter: String? = nil
        ) {
            self.CheckID = CheckID
            self.Name = Name
            self.TTL = TTL
            self.TCP = TCP
            self.HTTP = HTTP
            self.Interval = Interval
            self.Timeout = Timeout
            self.Status = Status
            self.DeregisterCriticalServiceAfter = DeregisterCriticalServiceAfter
        }
    }

    /// A MindAlpha-Serving instance: `Meta.balanceFactor` is the weight, `Weights.Passing` too (capped at
    /// Consul's 65535).
    public init(id: String, name: String, address: String, port: Int, weight: Int, tags: [String] = [], check: CheckDefinition?) {
        self.ID = id
        self.Name = name
        self.Tags = tags
        self.Port = port
        self.Address = address
        self.Meta = ["balanceFactor": String(weight)]
        self.Weights = ServiceRegistration.Weights(Passing: min(max(weight, 1), 65535), Warning: 1)
        self.Check = check
        self.Checks = nil
    }
}
