import MindAlphaWire

/// Why a request failed, naming the instance where there is one, and saying what to do.
///
/// A struct over a private code, so that new failures can be added without breaking code that handles these: compare
/// values (`error == .cancelled`), or ask ``kind``, ``errorClass``, ``instance`` and ``cause``.
public struct PoolError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: Hashable, Sendable {
        case connectFailed(instance: String, reason: String)
        case clientLimit(instance: String, reason: String)
        case connectionClosed(instance: String, reason: String)
        case protocolViolation(instance: String, FrameError)
        case timeout(instance: String, after: Duration)
        case noConnection(instance: String, after: Duration)
        case noInstances(String)
        case noSuchInstance(String, source: String)
        case allEjected(instances: Int, retryIn: Duration)
        case cancelled
        case shuttingDown
        case unfinished(instance: String)
        case discoveryFailed(String)
        case discoveryRefused(String)
    }

    let code: Code

    private init(_ code: Code) { self.code = code }

    /// No TCP connection could be made to the instance (refused, unreachable, connect timeout).
    public static func connectFailed(instance: String, reason: String) -> Self { Self(.connectFailed(instance: instance, reason: reason)) }
    /// This client could not open a connection for its own reasons — too many open files, no ephemeral port left,
    /// out of buffers — whatever the instance does. Never counts against the instance.
    public static func clientLimit(instance: String, reason: String) -> Self { Self(.clientLimit(instance: instance, reason: reason)) }
    /// The connection closed (EOF or reset) while the request was in flight, or before it could be written.
    public static func connectionClosed(instance: String, reason: String) -> Self {
        Self(.connectionClosed(instance: instance, reason: reason))
    }
    /// The instance broke the protocol (garbage, wrong class ID, oversized or truncated frame); the connection
    /// was closed and every request on it failed.
    public static func protocolViolation(instance: String, _ error: FrameError) -> Self { Self(.protocolViolation(instance: instance, error)) }
    /// No response within the request's timeout; its ID is forgotten and a late response is counted and dropped.
    public static func timeout(instance: String, after: Duration) -> Self { Self(.timeout(instance: instance, after: after)) }
    /// No connection to the picked instance became available before the request's deadline.
    public static func noConnection(instance: String, after: Duration) -> Self { Self(.noConnection(instance: instance, after: after)) }
    /// Discovery gave no instance to send to.
    public static func noInstances(_ source: String) -> Self { Self(.noInstances(source)) }
    /// A request pinned to an instance that is not (or no longer) in the pool.
    public static func noSuchInstance(_ address: String, source: String) -> Self { Self(.noSuchInstance(address, source: source)) }
    /// Every instance is ejected after repeated connection failures; the earliest comes back after `retryIn`.
    public static func allEjected(instances: Int, retryIn: Duration) -> Self { Self(.allEjected(instances: instances, retryIn: retryIn)) }
    /// The request was cancelled by its caller.
    public static let cancelled = Self(.cancelled)
    /// The pool is shutting down or shut down.
    public static let shuttingDown = Self(.shuttingDown)
    /// The request was placed on the instance (in flight, or waiting for one of its connections) when the pool shut
    /// down, and never finished.
    public static func unfinished(instance: String) -> Self { Self(.unfinished(instance: instance)) }
    /// Discovery failed before the pool had any instance: Consul could not be reached, or listed no passing one.
    public static func discoveryFailed(_ reason: String) -> Self { Self(.discoveryFailed(reason)) }
    /// Discovery answered, but refused or garbled the query (a 403, an error status, malformed JSON).
    public static func discoveryRefused(_ reason: String) -> Self { Self(.discoveryRefused(reason)) }

    /// Which failure this is, for code that tells them apart: `error.kind == .noSuchInstance`. A struct, so kinds can
    /// be added.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        private init(_ name: String) { description = name }
        public static let connectFailed = Kind("connect failed")
        public static let clientLimit = Kind("client limit")
        public static let connectionClosed = Kind("connection closed")
        public static let protocolViolation = Kind("protocol violation")
        public static let timeout = Kind("timeout")
        public static let noConnection = Kind("no connection")
        public static let noInstances = Kind("no instances")
        public static let noSuchInstance = Kind("no such instance")
        public static let allEjected = Kind("all ejected")
        public static let cancelled = Kind("cancelled")
        public static let shuttingDown = Kind("shutting down")
        public static let unfinished = Kind("unfinished")
        public static let discoveryFailed = Kind("discovery failed")
        public static let discoveryRefused = Kind("discovery refused")
    }

    public var kind: Kind {
        switch code {
        case .connectFailed: .connectFailed
        case .clientLimit: .clientLimit
        case .connectionClosed: .connectionClosed
        case .protocolViolation: .protocolViolation
        case .timeout: .timeout
        case .noConnection: .noConnection
        case .noInstances: .noInstances
        case .noSuchInstance: .noSuchInstance
        case .allEjected: .allEjected
        case .cancelled: .cancelled
        case .shuttingDown: .shuttingDown
        case .unfinished: .unfinished
        case .discoveryFailed: .discoveryFailed
        case .discoveryRefused: .discoveryRefused
        }
    }

    /// The protocol error of a ``protocolViolation(instance:_:)``.
    public var frameError: FrameError? {
        if case let .protocolViolation(_, error) = code { return error }
        return nil
    }

    /// The error classes reported in statistics and by `bench`.
    public enum Class: String, Sendable, CaseIterable, Hashable {
        case connect, closed, `protocol`, timeout, unavailable, cancelled, shutdown, client
    }

    public var errorClass: Class {
        switch code {
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
        switch code {
        case let .connectFailed(i, _), let .clientLimit(i, _), let .connectionClosed(i, _), let .protocolViolation(i, _),
             let .timeout(i, _), let .noConnection(i, _), let .unfinished(i):
            return i
        default:
            return nil
        }
    }

    /// Whether the connection it happened on is unusable (it was, or must be, closed).
    public var closesConnection: Bool {
        switch code {
        case .connectFailed, .clientLimit, .connectionClosed, .protocolViolation: return true
        default: return false
        }
    }

    public var description: String {
        switch code {
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
        switch code {
        case let .connectFailed(_, reason), let .clientLimit(_, reason): return reason
        case let .connectionClosed(_, reason): return reason
        case let .protocolViolation(_, error): return "protocol violation: \(error)"
        case let .timeout(_, after): return "no response within \(formatDuration(after))"
        default: return description
        }
    }
}
