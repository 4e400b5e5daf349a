import MindAlphaPool

/// What went wrong talking to Consul, each saying what to do. Messages never contain the ACL token.
///
/// A struct over a private code, so that new failures can be added without breaking code that handles these: ask
/// ``kind`` (`error.kind == .forbidden`), ``isUnreachable``, ``status``, ``path`` and ``consulMessage``. The advice
/// names what the settings were resolved from (``ConsulSettings/Advice``): environment variables by default, a
/// program's own flags when it says so.
public struct ConsulError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: Hashable, Sendable {
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
    }

    let code: Code
    let advice: ConsulSettings.Advice

    init(_ code: Code, advice: ConsulSettings.Advice) {
        self.code = code
        self.advice = advice
    }

    /// Which failure this is. A struct, so kinds can be added.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        private init(_ name: String) { description = name }
        public static let unreachable = Kind("unreachable")
        public static let forbidden = Kind("forbidden")
        public static let http = Kind("http error")
        public static let malformed = Kind("malformed answer")
        public static let timeout = Kind("timeout")
        public static let badSettings = Kind("bad settings")
    }

    public var kind: Kind {
        switch code {
        case .unreachable: .unreachable
        case .forbidden: .forbidden
        case .http: .http
        case .malformed: .malformed
        case .timeout: .timeout
        case .badSettings: .badSettings
        }
    }

    /// The HTTP status Consul answered with, when it answered with an error.
    public var status: Int? {
        switch code {
        case .forbidden: 403
        case let .http(_, status, _, _): status
        default: nil
        }
    }

    /// The path asked (without its query), when Consul answered it with an error, garbage or nothing in time.
    public var path: String? {
        switch code {
        case let .http(_, _, path, _), let .malformed(_, path, _), let .timeout(_, path, _): path
        default: nil
        }
    }

    /// Consul's own error message, when it answered with an error.
    public var consulMessage: String? {
        switch code {
        case let .forbidden(_, message, _), let .http(_, _, _, message): message
        default: nil
        }
    }

    public var description: String {
        switch code {
        case let .unreachable(address, reason):
            // A reason that already says what to do (a TLS mismatch) needs no second piece of advice.
            if reason.contains(" — ") { return "consul at \(address) unreachable: \(reason)" }
            return "consul at \(address) unreachable: \(reason) — set \(advice.address)"
        case let .forbidden(address, message, needs):
            return "consul at \(address) answered 403 (\(message)): the ACL token lacks \(needs) — set \(advice.token)"
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
        switch code {
        case .unreachable, .timeout: true
        default: false
        }
    }
}
