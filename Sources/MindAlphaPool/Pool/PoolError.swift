import MindAlphaWire

/// Why a request failed, naming the instance where there is one, and saying what to do.
public enum PoolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No TCP connection could be made to the instance (refused, unreachable, connect timeout).
    case connectFailed(instance: String, reason: String)
    /// This client could not open a connection for its own reasons — too many open files, no ephemeral port left,
    /// out of buffers — whatever the instance does. Never counts against the instance.
    case clientLimit(instance: String, reason: String)
    /// The connection closed (EOF or reset) while the request was in flight, or before it could be written.
    case connectionClosed(instance: String, reason: String)
    /// The instance broke the protocol (garbage, wrong class ID, oversized or truncated frame); the connection
    /// was closed and every request on it failed.
    case protocolViolation(instance: String, FrameError)
    /// No response within the request's timeout; its ID is forgotten and a late response is counted and dropped.
    case timeout(instance: String, after: Duration)
    /// No connection to the picked instance became available before the request's deadline.
    case noConnection(instance: String, after: Duration)
    /// Discovery gave no instance to send to.
    case noInstances(String)
    /// A request pinned to an instance that is not (or no longer) in the pool.
    case noSuchInstance(String, source: String)
    /// Every instance is ejected after repeated connection failures; the earliest comes back after `retryIn`.
    case allEjected(instances: Int, retryIn: Duration)
    /// The request was cancelled by its caller.
    case cancelled
    /// The pool is shutting down or shut down.
    case shuttingDown
    /// The request was placed on the instance (in flight, or waiting for one of its connections) when the pool shut
    /// down, and never finished.
    case unfinished(instance: String)
    /// Discovery failed before the pool had any instance: Consul could not be reached, or listed no passing one.
    case discoveryFailed(String)
    /// Discovery answered, but refused or garbled the query (a 403, an error status, malformed JSON).
    case discoveryRefused(String)

    /// The error classes reported in statistics and by `bench`.
    public enum Class: String, Sendable, CaseIterable, Hashable {
        case connect, closed, `protocol`, timeout, unavailable, cancelled, shutdown, client
    }

    public var errorClass: Class {
        switch self {
        case .connectFailed: return .connect
        case .clientLimit: return .client
        case .connectionClosed: return .closed
        case .protocolViolation: return .protocol
        case .timeout: return .timeout
        case .noConnection, .noInstances, .noSuchInstance, .allEjected, .discoveryFailed, .discoveryRefused: return .unavailable
        case .cancelled: return .cancelled
        case .shuttingDown, .unfinished: return .shutdown
        }
    }

    /// The instance the error is about, when there is one.
    public var instance: String? {
        switch self {
        case let .connectFailed(i, _), let .clientLimit(i, _), let .connectionClosed(i, _), let .protocolViolation(i, _),
             let .timeout(i, _), let .noConnection(i, _), let .unfinished(i):
            return i
        default:
            return nil
        }
    }

    /// Whether the connection it happened on is unusable (it was, or must be, closed).
    public var closesConnection: Bool {
        switch self {
        case .connectFailed, .clientLimit, .connectionClosed, .protocolViolation: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case let .connectFailed(instance, reason):
            if reason.hasPrefix("cannot resolve") { return "\(instance): \(reason) — check the host name, or give an IP address" }
            return "\(instance): cannot connect (\(reason)) — is the instance up and listening on that port?"
        case let .clientLimit(instance, reason):
            return "cannot open a connection to \(instance): \(reason) — this client's limit, not the instance's"
        case let .connectionClosed(instance, reason):
            return "\(instance): connection closed with the request in flight (\(reason))"
        case let .protocolViolation(instance, error):
            return "\(instance): protocol violation, connection closed: \(error)"
        case let .timeout(instance, after):
            return "\(instance): no response within \(formatDuration(after)) — raise the timeout or check the instance's load"
        case let .noConnection(instance, after):
            return "\(instance): no connection became available within \(formatDuration(after)) — raise the connections per instance or the timeout"
        case let .noInstances(service):
            return "no instance to send to for \(service) — check that the service has passing instances"
        case let .noSuchInstance(address, source):
            return "\(address) is not an instance of \(source)"
        case let .allEjected(count, retryIn):
            return "all \(count) instance(s) are ejected after repeated connection failures; the first is retried in \(formatDuration(retryIn))"
        case .cancelled:
            return "request cancelled"
        case .shuttingDown:
            return "the pool is shutting down; no new requests are accepted"
        case let .unfinished(instance):
            return "\(instance): still unanswered when the pool shut down"
        case let .discoveryFailed(reason), let .discoveryRefused(reason):
            return reason
        }
    }

    /// What went wrong, without the instance's name or advice: `connection refused`, `closed by the instance`,
    /// `protocol violation: …`; what an ejection event gives as its cause.
    public var cause: String {
        switch self {
        case let .connectFailed(_, reason), let .clientLimit(_, reason): return reason
        case let .connectionClosed(_, reason): return reason
        case let .protocolViolation(_, error): return "protocol violation: \(error)"
        case let .timeout(_, after): return "no response within \(formatDuration(after))"
        default: return description
        }
    }
}
