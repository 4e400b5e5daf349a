import CommandLineKit
import Foundation
import MindAlphaDiscovery
import MindAlphaPool

/// `mindalpha-pool discover`: what Consul tells every MindAlpha-Serving client, and what the clients make of it.
enum DiscoverCommand {
    /// Each option once, typed: `args[Options.conns]`; the spec below lists them.
    enum Options {
        static let json = OptionSpec("json", .flag, help: "One JSON document (with --watch, one JSON object per line).").flag
        static let all = OptionSpec("all", short: "a", .flag, help: "Include instances that are not passing, with their check status.").flag
        static let watch = OptionSpec("watch", short: "w", .flag, help: "After the table, print each change as it happens, until interrupted.").flag
        static let strict = OptionSpec("strict", .flag, help: "Exit 2 when the registration lint finds anything (for CI).").flag
        static let wait = OptionSpec("wait", .duration, help: "How long each blocking query may wait in Consul with --watch.", default: "5m").duration.defaulted()
        static let listServices = OptionSpec("list-services", .flag, help: "Print the name of every service in Consul's catalog, one per line (for scripts and completions).").flag
        static let listTargets = OptionSpec("list-targets", .flag, help: "Print each passing instance's HOST:PORT, one per line: of --service, or of every service when none is named.").flag
    }

    static let spec = CommandSpec(
        name: "discover",
        summary: "resolve the service in Consul: instances, the weight clients compute, share of traffic, lint",
        discussion: """
        WEIGHT is what MindAlpha-Serving's Go client computes from Service.Meta["balanceFactor"] (absent or ≤ 0: 200; \
        not an integer: 0); SHARE is its share of picks; CONSUL WEIGHT is Weights.Passing, which Consul uses only for DNS. \
        Registrations that make the Go client misbehave are reported under the table (stderr).
        Exit status: 0 with at least one passing instance; 69 when Consul is unreachable or nothing passes; 2 with --strict \
        when the lint found anything; 64 for a usage error; 130 when a --watch is interrupted.
        """,
        options: ConsulOptions.serviceSpecs + ConsulOptions.specs + [
            Options.json.spec,
            Options.all.spec,
            Options.watch.spec,
            Options.strict.spec,
            Options.wait.spec,
            Options.listServices.spec,
            Options.listTargets.spec,
        ],
        rules: ConsulOptions.rules + [
            .requires("wait", anyOf: ["watch"], why: "how long each blocking query of the watch may wait"),
            .oneOf(["watch", "target"], why: "a watch follows Consul"),
            .oneOf(["list-services", "list-targets"]),
            .excludes("list-services", ["watch", "json", "all", "strict"], why: "it prints bare lines"),
            .excludes("list-targets", ["watch", "json", "all", "strict"], why: "it prints bare lines"),
        ],
        examples: [
            "mindalpha-pool discover --service ms-serving",
            "mindalpha-pool discover --service ms-serving --json | jq '.instances[].address'",
            "mindalpha-pool discover --service ms-serving --watch",
            "CONSUL_HTTP_ADDR=https://consul:8501 mindalpha-pool discover -s ms-serving --strict",
        ])

    static func run(_ args: ParsedArguments) async throws -> ExitCode {
        if args[Options.listServices] || args[Options.listTargets] { return try await list(args) }
        if args.isSet(Options.wait) {
            // Consul caps a blocking query's wait at 10 minutes (and waits at least its default when asked for 0).
            let wait = args[Options.wait]
            guard wait > .zero, wait <= .seconds(600) else {
                throw UsageError("--wait \(formatDuration(wait)): Consul takes a blocking query's wait from over 0 up to 10m", command: spec.name)
            }
        }
        let settings: ConsulSettings, service: String, base: HealthQuery
        switch try ConsulOptions.instances(args, command: spec.name) {
        case let .targets(statics):
            return report(Snapshot(service: "(static)", source: "--target", instances: statics, index: nil, all: false), args)
        case let .consul(s, q):
            (settings, service, base) = (s, q.service, q)
        }
        let client = try ConsulClient(settings: settings, logger: Logs.make("consul"))
        defer { Task { try? await client.shutdown() } }
        var query = base
        query.passingOnly = !args[Options.all]
        let result: HealthResult
        do {
            result = try await client.health(query)
        } catch {
            throw CommandError(error.description, code: error.isUnreachable ? .unavailable : .failure)
        }
        let snapshot = Snapshot(service: service, source: settings.hostPort, instances: result.instances, index: result.index, all: args[Options.all])
        let code = report(snapshot, args)
        guard args[Options.watch] else { return code }
        return await watch(client: client, query: query, args: args, after: result)
    }

    /// `--list-services`, `--list-targets`: bare lines for scripts and completion scripts (which give up after 2 s).
    static func list(_ args: ParsedArguments) async throws -> ExitCode {
        let settings = try ConsulOptions.settings(args, command: spec.name)
        let client = try ConsulClient(settings: settings, logger: Logs.make("consul"))
        defer { Task { try? await client.shutdown() } }
        do {
            if args[Options.listServices] {
                for name in try await client.services(namespace: args[ConsulOptions.namespace]) { Output.out(name) }
                return .success
            }
            // The catalog only when no --service names the one service to list.
            var names = args[ConsulOptions.service].map { [$0] } ?? []
            if names.isEmpty { names = try await client.services(namespace: args[ConsulOptions.namespace]).filter { $0 != "consul" } }
            var seen = Set<String>()
            for name in names {
                for instance in try await client.health(ConsulOptions.query(args, service: name)).instances
                where seen.insert(instance.address).inserted {
                    Output.out(instance.address)
                }
            }
            guard !seen.isEmpty else {
                let which = args[ConsulOptions.service].map { "service '\($0)' has" } ?? "no service has"
                throw CommandError("\(which) no passing instance in consul at \(settings.hostPort)", code: .unavailable)
            }
            return .success
        } catch let error as ConsulError {
            throw CommandError(error.description, code: error.isUnreachable ? .unavailable : .failure)
        }
    }

    struct Snapshot {
        var service: String
        var source: String
        var instances: [Instance]
        var index: UInt64?
        var all: Bool

        var passing: [Instance] { instances.filter { $0.status == .passing } }
        /// The rotation clients see: passing instances only.
        var fleet: Fleet { Fleet(passing) }
    }

    /// Prints the table or JSON, the lint; returns the exit code.
    static func report(_ s: Snapshot, _ args: ParsedArguments) -> ExitCode {
        let findings = RegistrationLint.check(s.passing)
        if args[Options.json] {
            Output.out(Output.json(DiscoveryReport(service: s.service, consul: s.source, index: s.index, instances: s.instances, findings: findings)))
        } else {
            Output.out(table(s))
        }
        for finding in findings { Output.err("lint: \(finding.severity == .fleetBreaking ? "FLEET-BREAKING: " : "")\(finding.message)") }
        if s.passing.isEmpty {
            Output.err("mindalpha-pool: service '\(s.service)' has no passing instance in consul at \(s.source)\(s.all ? "" : " — run with --all to see the others")")
            return .unavailable
        }
        if args[Options.strict], !findings.isEmpty { return .thresholdBreached }
        return .success
    }

    static func table(_ s: Snapshot) -> String {
        let fleet = s.fleet
        let ordered = Fleet(s.instances).instances
        var header = ["ADDRESS", "WEIGHT", "SHARE", "CONSUL WEIGHT", "NODE", "SERVICE ID", "TAGS"]
        if s.all { header.insert("STATUS", at: 1) }
        let rows = ordered.map { i -> [String] in
            let inRotation = i.status == .passing
            var row = [
                i.address, String(i.weight), inRotation ? Output.percent(fleet.share(of: i)) : "-", String(i.consulWeight),
                i.node, i.serviceID, i.tags.isEmpty ? "-" : i.tags.joined(separator: ","),
            ]
            if s.all { row.insert(i.status.rawValue, at: 1) }
            return row
        }
        var summary = "\(Output.count(fleet.instances.count, "passing instance")) · total weight \(fleet.totalWeight) · gcd \(fleet.gcd) · LVS cycle \(Output.count(fleet.cycleLength, "pick"))"
        if s.all { summary = "\(Output.count(s.instances.count, "instance")), " + summary }
        if let index = s.index { summary += " · index \(index)" }
        return (ordered.isEmpty ? "" : TableFormatter.render(header: header, rows: rows) + "\n") + summary
    }


    // MARK: watch

    static func watch(client: ConsulClient, query: HealthQuery, args: ParsedArguments, after first: HealthResult) async -> ExitCode {
        let asJSON = args[Options.json]
        let wait = args[Options.wait]
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var known = first.instances
                var said = Set(RegistrationLint.check(first.instances).map(\.message))
                func apply(_ instances: [Instance], index: UInt64) async {
                    let change = InstanceSetChange(from: known, to: instances)
                    known = instances
                    guard !change.isEmpty else { return }
                    let reasons = await Self.reasons(for: change.removed, client: client, query: query)
                    printChange(change, reasons: reasons, index: index, json: asJSON)
                    if instances.isEmpty, !change.removed.isEmpty {
                        notice("no passing instance of \(query.service) is left: every client of it fails now", event: "empty", index: index, json: asJSON)
                    }
                    // The lint again: a change is exactly when a weight-0 or GCD-breaking registration appears.
                    for finding in RegistrationLint.check(instances) where !said.contains(finding.message) {
                        said.insert(finding.message)
                        let prefix = finding.severity == .fleetBreaking ? "FLEET-BREAKING: " : ""
                        if asJSON {
                            Output.out(Output.json(DiscoveryReport.Notice(event: "lint", message: finding.message, code: finding.code.rawValue,
                                                       severity: finding.severity.rawValue, index: index, time: timestamp())))
                        } else {
                            Output.err("\(clock()) lint: \(prefix)\(finding.message)")
                        }
                    }
                    said = said.intersection(RegistrationLint.check(instances).map(\.message))
                }
                for await event in client.watch(query, wait: wait, after: first) {
                    switch event {
                    case .initial(let instances, let index), .changed(_, let instances, let index):
                        await apply(instances, index: index)
                    case .failed(let error, let retryIn):
                        Output.err("\(clock()) mindalpha-pool: \(error) (retrying in \(formatDuration(retryIn)); keeping the last \(Output.count(known.count, "instance")))")
                    case .recovered:
                        Output.err("\(clock()) mindalpha-pool: consul answers again")
                    }
                }
            }
            group.addTask { _ = await Signals.waitForTermination() }
            await group.next()
            group.cancelAll()
        }
        return .interrupted
    }

    /// Why instances left the passing set: still registered with a failing check, or gone (one extra, non-blocking
    /// query for all instances, made only when some left).
    static func reasons(for removed: [Instance], client: ConsulClient, query: HealthQuery) async -> [String: String] {
        guard !removed.isEmpty else { return [:] }
        var all = query
        all.passingOnly = false
        all.index = nil
        let everyone = (try? await client.health(all))?.instances ?? []
        var reasons: [String: String] = [:]
        for instance in removed {
            if let still = everyone.first(where: { $0.serviceID == instance.serviceID }) {
                reasons[instance.serviceID] = still.status == .passing ? "now filtered out" : "check \(still.status.rawValue)"
            } else if !everyone.isEmpty || removed.count > 0 {
                reasons[instance.serviceID] = "deregistered"
            }
        }
        return reasons
    }

    /// `12:34:56.789`: when a watch line was printed (local time).
    static func clock() -> String {
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss.SSS"
        return f.string(from: Date())
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }

    static func notice(_ message: String, event: String, index: UInt64?, json asJSON: Bool) {
        if asJSON {
            Output.out(Output.json(DiscoveryReport.Notice(event: event, message: message, index: index, time: timestamp())))
        } else {
            Output.out("\(clock()) ! \(message)")
        }
    }

    static func printChange(_ change: InstanceSetChange, reasons: [String: String] = [:], index: UInt64, json asJSON: Bool) {
        let time = timestamp()
        let at = clock()
        for i in change.added {
            Output.out(asJSON
                ? Output.json(DiscoveryReport.Change(event: "added", address: i.address, serviceID: i.serviceID, weight: i.weight, index: index, time: time))
                : "\(at) + \(i.address) weight \(i.weight) (\(i.serviceID))")
        }
        for i in change.removed {
            let reason = reasons[i.serviceID]
            Output.out(asJSON
                ? Output.json(DiscoveryReport.Change(event: "removed", address: i.address, serviceID: i.serviceID, weight: i.weight, reason: reason, index: index, time: time))
                : "\(at) - \(i.address) weight \(i.weight) (\(i.serviceID))" + (reason.map { ": \($0)" } ?? ""))
        }
        for r in change.reweighted {
            Output.out(asJSON
                ? Output.json(DiscoveryReport.Change(event: "reweighted", address: r.after.address, serviceID: r.after.serviceID, weight: r.after.weight, previousWeight: r.before.weight, index: index, time: time))
                : "\(at) ~ \(r.after.address) weight \(r.before.weight) → \(r.after.weight) (\(r.after.serviceID))")
        }
    }
}
