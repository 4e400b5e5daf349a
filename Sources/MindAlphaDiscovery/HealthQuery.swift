import MindAlphaPool

/// The parameters of `GET /v1/health/service/<name>`.
public struct HealthQuery: Hashable, Sendable {
    public var service: String
    /// `passing`: only instances whose every check passes (what MindAlpha-Serving clients ask for).
    public var passingOnly: Bool
    /// `stale`: any server may answer (the default, as the Go client does); `false` sends no consistency mode.
    public var stale: Bool
    /// `tag`, repeatable: every tag must match.
    public var tags: [String]
    /// `filter`: a Consul filter expression.
    public var filter: String?
    /// `ns`: an Enterprise namespace.
    public var namespace: String?
    /// `index`: block until the result's index is above it (0 or `nil`: answer at once).
    public var index: UInt64?
    /// `wait`: the longest Consul holds a blocking query (default 5m, capped at 10m by Consul).
    public var wait: Duration?

    public init(
        service: String, passingOnly: Bool = true, stale: Bool = true, tags: [String] = [],
        filter: String? = nil, namespace: String? = nil, index: UInt64? = nil, wait: Duration? = nil
    ) {
        self.service = service
        self.passingOnly = passingOnly
        self.stale = stale
        self.tags = tags
        self.filter = filter
        self.namespace = namespace
        self.index = index
        self.wait = wait
    }

    /// The path and query string, parameters percent-encoded; `dc` from the settings.
    func path(datacenter: String?) -> String {
        var items: [(String, String)] = []
        if passingOnly { items.append(("passing", "1")) }
        if stale { items.append(("stale", "")) }
        for tag in tags { items.append(("tag", tag)) }
        if let datacenter { items.append(("dc", datacenter)) }
        if let filter { items.append(("filter", filter)) }
        if let namespace { items.append(("ns", namespace)) }
        if let index, index > 0 {
            items.append(("index", String(index)))
            if let wait { items.append(("wait", "\(wait.milliseconds)ms")) }
        }
        let query = items.map { $0.1.isEmpty ? "\(escape($0.0))=" : "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
        return "/v1/health/service/\(escape(service))" + (query.isEmpty ? "" : "?" + query)
    }
}

/// What one health query returned.
public struct HealthResult: Hashable, Sendable {
    public var instances: [Instance]
    /// `X-Consul-Index`.
    public var index: UInt64
    /// `X-Consul-KnownLeader`.
    public var knownLeader: Bool
    /// `X-Consul-LastContact`, in milliseconds.
    public var lastContactMilliseconds: Int
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
func escape(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
        }
    }
    return out
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    public var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
