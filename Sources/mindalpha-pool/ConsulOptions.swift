import CommandLineKit
import Foundation
import MindAlphaDiscovery
import MindAlphaPool
import MindAlphaWire

/// The options every Consul-facing command shares, named as the `consul` CLI names them.
enum ConsulOptions {
    // Each option once, typed: `args[ConsulOptions.consul]`; the arrays below list them for the specs.
    static let consul = OptionSpec("consul", .string, help: "Consul's HTTP address: HOST:PORT, http://… or https://… (CONSUL_HTTP_SSL=true makes a bare HOST:PORT https).", defaultDescription: "127.0.0.1:8500", environmentAlso: ["CONSUL_HTTP_ADDR", "CONSUL_HTTP_SSL"], valueName: "ADDR").text
    static let token = OptionSpec("token", .string, help: "ACL token, sent in X-Consul-Token and never printed.", environmentAlso: ["CONSUL_HTTP_TOKEN"], valueName: "TOKEN").text
    static let tokenFile = OptionSpec("token-file", .path, help: "File holding the ACL token; --token wins over it, it wins over CONSUL_HTTP_TOKEN.", environmentAlso: ["CONSUL_HTTP_TOKEN_FILE"]).text
    static let caFile = OptionSpec("ca-file", .path, help: "CA certificates (PEM) for https (CONSUL_HTTP_SSL_VERIFY=false skips verification).", environmentAlso: ["CONSUL_CACERT", "CONSUL_HTTP_SSL_VERIFY"]).text
    static let datacenter = OptionSpec("datacenter", .string, help: "Datacenter to query (dc).", valueName: "DC").text
    static let service = OptionSpec("service", short: "s", .string, help: "The service name in Consul.", environment: "MINDALPHA_SERVICE", valueName: "NAME", valuesCommand: ["discover", "--list-services"]).text
    static let tag = OptionSpec("tag", .string, help: "Only instances with this tag; every given tag must match.", repeatable: true, valueName: "TAG").texts
    static let filter = OptionSpec("filter", .string, help: "A Consul filter expression.", valueName: "EXPR").text
    static let namespace = OptionSpec("namespace", .string, help: "Consul Enterprise namespace (ns).", valueName: "NS").text
    static let consistent = OptionSpec("consistent", .flag, help: "Ask the leader (consistent) instead of any server (stale, the default, as production clients do).").flag
    static let target = OptionSpec("target", short: "t", .string, help: "A static instance HOST:PORT[@WEIGHT] instead of Consul.", repeatable: true, valueName: "HOST:PORT[@WEIGHT]", valuesCommand: ["discover", "--list-targets"]).texts

    static let specs: [OptionSpec] = [
        Self.consul.spec,
        Self.token.spec,
        Self.tokenFile.spec,
        Self.caFile.spec,
        Self.datacenter.spec,
    ]

    static let serviceSpecs: [OptionSpec] = [
        Self.service.spec,
        Self.tag.spec,
        Self.filter.spec,
        Self.namespace.spec,
        Self.consistent.spec,
        Self.target.spec,
    ]

    /// Where a command's instances come from: `--target` items, or a Consul service.
    enum Instances {
        case targets([Instance])
        case consul(ConsulSettings, HealthQuery)

        /// What the pool follows.
        var poolSource: PoolConfiguration.Source {
            switch self {
            case let .targets(instances): return .fixed(instances)
            case let .consul(settings, query): return .consul(settings, query)
            }
        }

        /// The service name, or the one target's address, or "targets": for prompts and headings.
        var label: String {
            switch self {
            case let .targets(instances): return instances.count == 1 ? instances[0].address : "targets"
            case let .consul(_, query): return query.service
            }
        }
    }

    /// `--target` items, or `--service` (or MINDALPHA_SERVICE) in Consul: one of them, worded the same in every command.
    static func instances(_ args: ParsedArguments, command: String) throws -> Instances {
        let targets = try targets(args, command: command)
        if !targets.isEmpty { return .targets(targets) }
        guard let service = args[ConsulOptions.service] else {
            throw UsageError("give --service NAME (or MINDALPHA_SERVICE) or --target HOST:PORT[@WEIGHT]", command: command)
        }
        return .consul(try settings(args, command: command), query(args, service: service))
    }

    /// Static instances or a Consul service, never both (a service from MINDALPHA_SERVICE gives way to --target).
    static let rules: [OptionRule] = [.oneOf(["target", "service"])]

    /// What Consul's errors tell a user of this tool to set: its flags, then the variables.
    static let advice = ConsulSettings.Advice(
        address: "--consul or CONSUL_HTTP_ADDR", token: "--token, --token-file or CONSUL_HTTP_TOKEN",
        tokenFile: "--token-file or CONSUL_HTTP_TOKEN_FILE", caFile: "--ca-file or CONSUL_CACERT")

    /// Resolves the Consul settings; a bad address or unreadable file is a usage error.
    static func settings(_ args: ParsedArguments, command: String) throws -> ConsulSettings {
        do {
            return try ConsulSettings.resolve(
                address: args[ConsulOptions.consul],
                token: args[ConsulOptions.token],
                tokenFile: args[ConsulOptions.tokenFile],
                caFile: args[ConsulOptions.caFile],
                datacenter: args[ConsulOptions.datacenter],
                environment: ProcessInfo.processInfo.environment,
                advice: advice)
        } catch {
            throw UsageError(error.description, command: command)
        }
    }

    /// The health query the service options describe.
    static func query(_ args: ParsedArguments, service: String) -> HealthQuery {
        HealthQuery(
            service: service, stale: !args[ConsulOptions.consistent], tags: args[ConsulOptions.tag],
            filter: args[ConsulOptions.filter], namespace: args[ConsulOptions.namespace])
    }

    /// Whether a host name (or address) resolves, as the connects will resolve it.
    static func resolves(_ host: String) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &result)
        if let result { freeaddrinfo(result) }
        return status == 0
    }

    /// `--target HOST:PORT[@WEIGHT]` items as instances: the weight stands for `balanceFactor` (default 200).
    static func targets(_ args: ParsedArguments, command: String) throws(UsageError) -> [Instance] {
        try args[ConsulOptions.target].map { item throws(UsageError) in
            let parts = item.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
            guard let hp = HostPort(parsing: String(parts[0])) else {
                throw UsageError("--target: '\(item)' is not HOST:PORT[@WEIGHT] (e.g. 127.0.0.1:9000@200)", command: command)
            }
            guard resolves(hp.host) else {
                throw UsageError("--target: cannot resolve '\(hp.host)' — check the host name, or give an IP address", command: command)
            }
            var factor: String?
            if parts.count == 2 {
                guard let w = Int(parts[1]), w >= 0 else {
                    throw UsageError("--target: weight '\(parts[1])' in '\(item)' is not a whole number ≥ 0", command: command)
                }
                factor = String(w)
            }
            return Instance(host: hp.host, port: hp.port, serviceID: hp.description, serviceName: "(static)", node: "-",
                            checks: [], consulWeight: 1, balanceFactor: factor)
        }
    }
}
