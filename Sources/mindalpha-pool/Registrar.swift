import CommandLineKit
import Foundation
import MindAlphaDiscovery
import MindAlphaPool
import MindAlphaWire
import NIOConcurrencyHelpers
import NIOCore

/// `serve --register`: each listening port becomes an instance in Consul, removed again on exit.
final class Registrar: Sendable {
    private typealias O = ServeCommand.Options

    let client: ConsulClient
    let service: String
    let weight: Int
    let tags: [String]
    let check: String
    let advertise: String?
    private let registered = NIOLockedValueBox<[String]>([])
    private let heartbeat = NIOLockedValueBox<Task<Void, Never>?>(nil)

    init(_ args: ParsedArguments) throws {
        guard let service = args[O.service], !service.isEmpty else {
            throw UsageError("--register needs --service NAME (or MINDALPHA_SERVICE)", command: "serve")
        }
        self.service = service
        weight = args[O.weight]
        tags = (args[O.tags] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        check = args[O.check]
        advertise = args[O.advertise]
        client = try ConsulClient(settings: ConsulOptions.settings(args, command: "serve"), logger: Logs.make("consul"))
    }

    /// Registers every address; on a failure, removes those already registered and throws (exit 69).
    func register(_ addresses: [SocketAddress]) async throws {
        for address in addresses {
            guard var host = address.ipAddress, let port = address.port else { continue }
            if host == "0.0.0.0" || host == "::" {
                guard let advertise else {
                    throw UsageError("listening on \(host) needs --advertise HOST: the address clients should dial", command: "serve")
                }
                host = advertise
            }
            let id = "\(service)-\(host)-\(port)"
            let target = HostPort(host: host, port: port).description
            let definition: ServiceRegistration.CheckDefinition = check == "ttl"
                ? .init(CheckID: "service:\(id)", TTL: "10s", Status: "passing", DeregisterCriticalServiceAfter: "1m")
                : .init(CheckID: "service:\(id)", TCP: target, Interval: "5s", Timeout: "2s", DeregisterCriticalServiceAfter: "1m")
            do {
                try await client.register(ServiceRegistration(id: id, name: service, address: host, port: port, weight: weight, tags: tags, check: definition))
            } catch {
                await deregister()
                throw CommandError("cannot register \(id): \(error)", code: error.isUnreachable ? .unavailable : .failure)
            }
            registered.withLockedValue { $0.append(id) }
            Output.err("registered \(id) in consul at \(client.settings.hostPort) (weight \(weight), \(check) check)")
        }
        if check == "ttl" { startHeartbeat() }
    }

    private func startHeartbeat() {
        let ids = registered.withLockedValue { $0 }
        let task = Task { [client] in
            while !Task.isCancelled {
                for id in ids {
                    do { try await client.updateTTL(checkID: "service:\(id)", status: .passing) } catch {
                        Output.err("mindalpha-pool: TTL heartbeat for \(id) failed: \(error)")
                    }
                }
                try? await Task.sleep(for: .seconds(3))
            }
        }
        heartbeat.withLockedValue { $0 = task }
    }

    /// Removes every registration made; failures are reported, not fatal.
    func deregister() async {
        heartbeat.withLockedValue { $0?.cancel() }
        for id in registered.withLockedValue({ ids in defer { ids.removeAll() }; return ids }) {
            do {
                try await client.deregister(serviceID: id)
                Output.err("deregistered \(id)")
            } catch {
                Output.err("mindalpha-pool: could not deregister \(id): \(error)")
            }
        }
        try? await client.shutdown()
    }
}
