import AsyncHTTPClient
import Foundation
import Logging
import MindAlphaPool
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A Consul HTTP API client: one long-lived `HTTPClient`, the ACL token in `X-Consul-Token` only.
///
/// Call ``shutdown()`` when done.
public final class ConsulClient: Sendable {
    public let settings: ConsulSettings
    private let http: HTTPClient
    private let logger: Logger

    public init(settings: ConsulSettings, logger: Logger = Logger(label: "mindalpha.consul")) throws(ConsulError) {
        self.settings = settings
        self.logger = logger
        var configuration = HTTPClient.Configuration()
        // Fail at once when nothing listens, instead of retrying until the request's deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(3)
        configuration.decompression = .disabled
        if settings.scheme == "https" {
            var tls = TLSConfiguration.makeClientConfiguration()
            if let ca = settings.caFile { tls.trustRoots = .file(ca) }
            if !settings.verifyTLS { tls.certificateVerification = .none }
            configuration.tlsConfiguration = tls
        }
        self.http = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
    }

    /// Closes the connections.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// `GET /v1/health/service/<name>`: the instances and the index. A blocking query (``HealthQuery/index``)
    /// waits up to its `wait` (plus Consul's jitter) before answering.
    public func health(_ query: HealthQuery) async throws(ConsulError) -> HealthResult {
        let path = query.path(datacenter: settings.datacenter)
        var timeout = settings.timeout
        if let index = query.index, index > 0 {
            let wait = query.wait ?? .seconds(300)
            timeout += wait + wait / 16
        }
        let (head, body) = try await send(.GET, path, timeout: timeout)
        let instances: [Instance]
        do {
            instances = try ConsulWire.instances(fromHealthJSON: body)
        } catch {
            throw failure(.malformed(address: settings.hostPort, path: path, reason: Self.describe(decoding: error)))
        }
        let headers = head.headers
        return HealthResult(
            instances: instances,
            index: headers.first(name: "X-Consul-Index").flatMap(UInt64.init) ?? 0,
            knownLeader: headers.first(name: "X-Consul-KnownLeader") == "true",
            lastContactMilliseconds: headers.first(name: "X-Consul-LastContact").flatMap(Int.init) ?? 0)
    }

    /// `GET /v1/catalog/services`: every service's name, sorted (any server may answer; `ns` and `dc` as given).
    public func services(namespace: String? = nil) async throws(ConsulError) -> [String] {
        var items = ["stale="]
        if let datacenter = settings.datacenter { items.append("dc=\(escape(datacenter))") }
        if let namespace { items.append("ns=\(escape(namespace))") }
        let path = "/v1/catalog/services?" + items.joined(separator: "&")
        let (_, body) = try await send(.GET, path, timeout: settings.timeout)
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw failure(.malformed(address: settings.hostPort, path: Self.pathOnly(path), reason: "not a JSON object of service names"))
        }
        return object.keys.sorted()
    }

    /// `PUT /v1/agent/service/register` with a JSON body as the Go API client marshals it.
    public func register(_ registration: ServiceRegistration) async throws(ConsulError) {
        let body: Data
        do { body = try JSONEncoder().encode(registration) } catch {
            preconditionFailure("a ServiceRegistration always encodes: \(error)")
        }
        _ = try await send(.PUT, "/v1/agent/service/register", body: body, timeout: settings.timeout)
    }

    /// `PUT /v1/agent/service/deregister/<id>`.
    public func deregister(serviceID: String) async throws(ConsulError) {
        _ = try await send(.PUT, "/v1/agent/service/deregister/\(escape(serviceID))", timeout: settings.timeout)
    }

    /// `PUT /v1/agent/check/pass|warn|fail/<id>` for TTL checks.
    public func updateTTL(checkID: String, status: CheckStatus, note: String = "") async throws(ConsulError) {
        let verb = status == .passing ? "pass" : status == .warning ? "warn" : "fail"
        let query = note.isEmpty ? "" : "?note=\(escape(note))"
        _ = try await send(.PUT, "/v1/agent/check/\(verb)/\(escape(checkID))\(query)", timeout: settings.timeout)
    }

    /// One request; an answer other than 200 (or 404 when `notFoundIsAnswer`: a key that does not exist) throws.
    func send(_ method: HTTPMethod, _ path: String, body: Data? = nil, timeout: Duration, notFoundIsAnswer: Bool = false) async throws(ConsulError) -> (HTTPClientResponse, Data) {
        var request = HTTPClientRequest(url: settings.baseURL + path)
        request.method = method
        if let token = settings.token { request.headers.add(name: "X-Consul-Token", value: token) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .nanoseconds(Int64(timeout.milliseconds) * 1_000_000))
            bytes = try await response.body.collect(upTo: 256 << 20)
        } catch {
            throw classify(error, path: path, timeout: timeout)
        }
        let data = Data(bytes.readableBytesView)
        guard response.status == .ok || (notFoundIsAnswer && response.status == .notFound) else {
            let message = redact(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            if response.status == .forbidden {
                // Registering, deregistering and TTL updates write; the key/value store is read and written; everything
                // else here reads.
                let needs = path.hasPrefix("/v1/kv/") ? (method == .GET ? "key:read" : "key:write") + " on the keys it names"
                    : path.hasPrefix("/v1/agent/") ? "service:write (and node:read) to register" : "service:read (and node:read)"
                throw failure(.forbidden(address: settings.hostPort, message: message, needs: needs))
            }
            throw failure(.http(address: settings.hostPort, status: Int(response.status.code), path: Self.pathOnly(path), message: message))
        }
        return (response, data)
    }

    /// An error of this client, with the advice its settings give.
    func failure(_ code: ConsulError.Code) -> ConsulError { ConsulError(code, advice: settings.advice) }

    /// Maps transport errors to what a user can act on.
    private func classify(_ error: Error, path: String, timeout: Duration) -> ConsulError {
        let address = settings.hostPort
        if let e = error as? HTTPClientError {
            switch e {
            case .connectTimeout: return failure(.unreachable(address: address, reason: "connect timed out"))
            case .deadlineExceeded, .readTimeout: return failure(.timeout(address: address, path: Self.pathOnly(path), after: timeout))
            case .remoteConnectionClosed: return failure(.unreachable(address: address, reason: "connection closed by the peer"))
            default: break
            }
        }
        if let e = error as? NIOConnectionError {
            if e.dnsAAAAError != nil || e.dnsAError != nil, e.connectionErrors.isEmpty {
                return failure(.unreachable(address: address, reason: "cannot resolve the host"))
            }
            if let first = e.connectionErrors.first?.error { return failure(.unreachable(address: address, reason: SocketErrorText.describe(first))) }
        }
        if let e = error as? IOError { return failure(.unreachable(address: address, reason: SocketErrorText.describe(e))) }
        if error is NIOSSLError || error is BoringSSLError {
            return failure(.unreachable(address: address, reason: Self.describe(tls: error)))
        }
        return failure(.unreachable(address: address, reason: redact("\(error)")))
    }

    /// A TLS failure in one sentence, without the TLS library's types or source paths.
    static func describe(tls error: Error) -> String {
        let text = "\(error)".uppercased()
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("HTTP_REQUEST") || text.contains("PACKET_LENGTH_TOO_LONG")
            || text.contains("UNCLEANSHUTDOWN") || text.contains("RECORD_LENGTH") {
            return "TLS failed: the server does not speak TLS — use http:// (or unset CONSUL_HTTP_SSL)"
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("CERTIFICATE VERIFY FAILED") {
            return "TLS failed: the server's certificate is not trusted — give its CA with --ca-file (CONSUL_CACERT), or set CONSUL_HTTP_SSL_VERIFY=false"
        }
        if text.contains("HOSTNAME") || text.contains("UNABLETOVALIDATECERTIFICATE") {
            return "TLS failed: the server's certificate does not name this host — check the address or --ca-file (CONSUL_CACERT)"
        }
        return "TLS failed: the handshake did not complete — check the scheme (http:// or https://) and --ca-file (CONSUL_CACERT)"
    }

    static func describe(decoding error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, context):
            return "missing \(key.stringValue) at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context):
            return "unexpected value at \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        case let DecodingError.dataCorrupted(context):
            return context.debugDescription
        default:
            return "\(error)"
        }
    }

    /// The path without its query string, for messages.
    static func pathOnly(_ path: String) -> String { String(path.prefix { $0 != "?" }) }

    /// Removes the token from text that came from the network, in case a server echoes it.
    private func redact(_ text: String) -> String {
        guard let token = settings.token, !token.isEmpty else { return text }
        return text.replacingOccurrences(of: token, with: "<redacted>")
    }
}
