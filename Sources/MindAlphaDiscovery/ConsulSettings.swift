import Foundation
import MindAlphaPool

/// How to reach Consul, resolved the way the `consul` CLI does.
public struct ConsulSettings: Sendable, Hashable {
    /// `http` or `https`.
    public var scheme: String
    /// `host:port`, as shown in messages.
    public var hostPort: String
    /// The ACL token, sent only in `X-Consul-Token`; never printed.
    public var token: String?
    /// A PEM file of CA certificates for https.
    public var caFile: String?
    /// `false` turns off TLS certificate verification (`CONSUL_HTTP_SSL_VERIFY=false`).
    public var verifyTLS: Bool
    /// The `dc` query parameter, when set.
    public var datacenter: String?
    /// The request timeout for queries that do not block.
    public var timeout: Duration
    /// What errors tell the user to set.
    public var advice: Advice

    /// How a user sets each setting, as errors name it: the environment variables by default; a program with flags
    /// of its own names them too (`--consul or CONSUL_HTTP_ADDR`).
    public struct Advice: Sendable, Hashable {
        public var address: String
        public var token: String
        public var tokenFile: String
        public var caFile: String

        public init(
            address: String = "CONSUL_HTTP_ADDR", token: String = "CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE",
            tokenFile: String = "CONSUL_HTTP_TOKEN_FILE", caFile: String = "CONSUL_CACERT"
        ) {
            self.address = address
            self.token = token
            self.tokenFile = tokenFile
            self.caFile = caFile
        }
    }

    public init(
        scheme: String = "http", hostPort: String = "127.0.0.1:8500", token: String? = nil, caFile: String? = nil,
        verifyTLS: Bool = true, datacenter: String? = nil, timeout: Duration = .seconds(10), advice: Advice = Advice()
    ) {
        self.scheme = scheme
        self.hostPort = hostPort
        self.token = token
        self.caFile = caFile
        self.verifyTLS = verifyTLS
        self.datacenter = datacenter
        self.timeout = timeout
        self.advice = advice
    }

    /// The base URL, e.g. `http://127.0.0.1:8500`.
    public var baseURL: String { "\(scheme)://\(hostPort)" }

    /// Resolves given values and the environment as the consul CLI does: `address` beats `CONSUL_HTTP_ADDR`
    /// (default `127.0.0.1:8500`; `http://` or `https://` prefix, else https when `CONSUL_HTTP_SSL=true`); for the
    /// token, `token` beats `tokenFile` beats `CONSUL_HTTP_TOKEN_FILE` beats `CONSUL_HTTP_TOKEN`; `caFile` beats
    /// `CONSUL_CACERT`; `CONSUL_HTTP_SSL_VERIFY=false` turns verification off. `advice` is what errors tell the user
    /// to set, now and later (the program's flags, when it has them).
    public static func resolve(
        address: String?, token: String?, tokenFile: String?, caFile: String?, datacenter: String?,
        environment: [String: String], advice: Advice = Advice()
    ) throws(ConsulError) -> ConsulSettings {
        func bad(_ message: String) -> ConsulError { ConsulError(.badSettings(message), advice: advice) }
        func env(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        var text = address ?? env("CONSUL_HTTP_ADDR") ?? "127.0.0.1:8500"
        var scheme = ["true", "1"].contains(env("CONSUL_HTTP_SSL")?.lowercased() ?? "") ? "https" : "http"
        for prefix in ["http://", "https://"] where text.lowercased().hasPrefix(prefix) {
            scheme = String(prefix.dropLast(3))
            text = String(text.dropFirst(prefix.count))
        }
        while text.hasSuffix("/") { text.removeLast() }
        guard !text.isEmpty, !text.contains("/"), !text.contains(where: \.isWhitespace) else {
            throw bad("consul address '\(address ?? env("CONSUL_HTTP_ADDR") ?? "")' is not HOST:PORT, http://HOST:PORT or https://HOST:PORT")
        }
        let given = address ?? env("CONSUL_HTTP_ADDR") ?? text
        // HOST, HOST:PORT, [IPv6] or [IPv6]:PORT; no port means consul's default, 8500.
        let host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw bad("consul address '\(given)' opens a '[' it never closes: write [IPv6]:PORT")
            }
            host = text[...close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw bad("consul address '\(given)' is not [IPv6]:PORT") }
                portText = rest.dropFirst()
            }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else {
                throw bad("consul address '\(given)' has more than one ':': write an IPv6 address in brackets, [::1]:8500")
            }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty, host != "[]" else {
            throw bad("consul address '\(given)' names no host: give HOST:PORT (e.g. 127.0.0.1:8500)")
        }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw bad("consul address '\(given)': the port '\(portText)' is not a number from 1 to 65535")
            }
        } else {
            text += ":8500"
        }

        var resolvedToken: String?
        if let token, !token.isEmpty {
            resolvedToken = token
        } else if let file = tokenFile ?? env("CONSUL_HTTP_TOKEN_FILE") {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw bad("cannot read the token file \(file): check \(advice.tokenFile)")
            }
            resolvedToken = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            resolvedToken = env("CONSUL_HTTP_TOKEN")
        }
        let ca = caFile ?? env("CONSUL_CACERT")
        if let ca, !FileManager.default.isReadableFile(atPath: ca) {
            throw bad("cannot read the CA file \(ca): check \(advice.caFile)")
        }
        return ConsulSettings(
            scheme: scheme, hostPort: text, token: resolvedToken, caFile: ca,
            verifyTLS: env("CONSUL_HTTP_SSL_VERIFY")?.lowercased() != "false",
            datacenter: datacenter, advice: advice)
    }
}
