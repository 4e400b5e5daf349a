import MindAlphaPool

/// What went wrong talking to Consul, each case saying what to do. Messages never contain the ACL token.
public enum ConsulError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No connection could be made.
    case unreachable(address: String, reason: String)
    /// 403: the token is unknown or lacks `needs` (`service:read`, `service:write`) for what was asked.
    case forbidden(address: String, message: String, needs: String)
    /// Any other non-200 answer, with Consul's own message.
    case http(address: String, status: Int, path: String, message: String)
    /// The answer was not the JSON Consul sends.
    case malformed(address: String, path: String, reason: String)
    /// The request took longer than its timeout.
    case timeout(address: String, path: String, after: Duration)
    /// The flags or environment are wrong.
    case badSettings(String)

    public var description: String {
        switch self {
        case let .unreachable(address, reason):
            // A reason that already says what to do (a TLS mismatch) needs no second piece of advice.
            if reason.contains(" — ") { return "consul at \(address) unreachable: \(reason)" }
            return "consul at \(address) unreachable: \(reason) — set --consul or CONSUL_HTTP_ADDR"
        case let .forbidden(address, message, needs):
            return "consul at \(address) answered 403 (\(message)): the ACL token lacks \(needs) — set --token, --token-file or CONSUL_HTTP_TOKEN"
        case let .http(address, status, path, message):
            return "consul at \(address) answered \(status) to \(path): \(message.isEmpty ? "(no message)" : message)"
        case let .malformed(address, path, reason):
            return "consul at \(address) answered \(path) with malformed JSON (\(reason)) — is that address a Consul agent?"
        case let .timeout(address, path, after):
            return "consul at \(address) did not answer \(path) within \(after) — check the agent's health or raise the timeout"
        case let .badSettings(message):
            return message
        }
    }

    /// Whether the cause is that Consul could not be reached at all (exit 69).
    public var isUnreachable: Bool {
        if case .unreachable = self { return true }
        if case .timeout = self { return true }
        return false
    }
}
