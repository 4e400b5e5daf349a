import CommandLineKit
import Foundation
import MindAlphaDiscovery
import MindAlphaPool

/// `mindalpha-pool schedule`: the pick sequence weighted round robin produces, and how it matches the weights.
enum ScheduleCommand {
    /// Each option once, typed: `args[Options.conns]`; the spec below lists them.
    enum Options {
        static let weights = OptionSpec("weights", .string, help: "Instances as NAME=WEIGHT pairs, comma-separated.", valueName: "A=4,B=3").text
        static let algorithm = OptionSpec("algorithm", .choice(SchedulingAlgorithm.allCases.map(\.rawValue)), help: "lvs (what production clients do) or smooth.", default: "lvs").text.defaulted()
        static let picks = OptionSpec("picks", .integer(1...1_000_000), help: "How many picks to show in the sequence.", defaultDescription: "one cycle, at most 100").integer
        static let simulate = OptionSpec("simulate", .integer(1...1_000_000_000), help: "How many picks to count shares and runs over.", defaultDescription: "one cycle or 1,000,000, whichever is less").integer
        static let compare = OptionSpec("compare", .flag, help: "Show lvs and smooth side by side.").flag
        static let json = OptionSpec("json", .flag, help: "Everything as one JSON document.").flag
    }

    static let spec = CommandSpec(
        name: "schedule",
        summary: "simulate the weighted round-robin pick sequence: shares against weights, burstiness",
        discussion: """
        Instances come from Consul (--service, with the weight MindAlpha-Serving's Go client computes), from --target, \
        or from --weights a=4,b=3,c=2 (names or addresses). lvs is the Go client's LVS weighted round robin, pick for \
        pick (highest weight first, ties by name); smooth is nginx's smooth weighted round robin (same shares, no bursts). \
        LONGEST RUN is the most consecutive picks of one instance: the burst it takes.
        """,
        options: [
            Options.weights.spec,
            Options.algorithm.spec,
            Options.picks.spec,
            Options.simulate.spec,
            Options.compare.spec,
            Options.json.spec,
        ] + ConsulOptions.serviceSpecs + ConsulOptions.specs,
        rules: [.oneOf(["weights", "target", "service"])],
        examples: [
            "mindalpha-pool schedule --weights A=4,B=3,C=2",
            "mindalpha-pool schedule --weights A=200,B=200,C=100 --compare",
            "mindalpha-pool schedule --service ms-serving --algorithm smooth --json",
        ])

    static func run(_ args: ParsedArguments) async throws -> ExitCode {
        let (targets, findings) = try await resolveTargets(args)
        let ordered = WeightedTarget.scheduleOrder(targets)
        let cycle = WeightedTarget.cycleLength(targets)
        let shown = args[Options.picks] ?? min(cycle, 100)
        let simulated = args[Options.simulate] ?? min(cycle, 1_000_000)
        let algorithms: [SchedulingAlgorithm] = args[Options.compare] ? [.lvs, .smooth] : [SchedulingAlgorithm(rawValue: args[Options.algorithm])!]
        let runs = algorithms.map { ScheduleSimulation($0, targets, shown: shown, simulated: simulated) }

        if args[Options.json] {
            Output.out(Output.json(Document(
                schedule: ScheduleReport(targets: targets, runs: runs), lint: findings.map { LintEntry($0, effect: effect($0)) })))
        } else {
            var out = "\(ordered.count) instance\(ordered.count == 1 ? "" : "s") · gcd \(WeightedTarget.gcd(targets)) · cycle \(cycle) pick\(cycle == 1 ? "" : "s") · simulated \(simulated) picks\n"
            for r in runs {
                let cut = r.sequence.count < cycle ? " …" : ""
                out += "\(r.algorithm.rawValue) sequence (first \(r.sequence.count)): \(r.sequence.joined(separator: " "))\(cut)\n"
            }
            var header = ["NAME", "WEIGHT", "EXPECTED"]
            for r in runs {
                let p = runs.count == 1 ? "" : r.algorithm.rawValue.uppercased() + " "
                header += ["\(p)OBSERVED", "\(p)PICKS", "\(p)LONGEST RUN"]
            }
            let rows = zip(ordered, ScheduleReport.expectedShares(ordered)).map { t, share -> [String] in
                var row = [t.name, String(t.weight), Output.percent(share)]
                for r in runs {
                    let picks = r.picks[t.name, default: 0]
                    row += [Output.percent(r.observedShare(of: t.name)), String(picks), String(r.longestRun[t.name, default: 0])]
                }
                return row
            }
            out += TableFormatter.render(header: header, rows: rows)
            Output.out(out)
        }
        for finding in findings { Output.err("lint: \(finding.message)\(effect(finding))") }
        return .success
    }

    /// What a registration problem does to the schedule.
    static func effect(_ f: LintFinding) -> String {
        switch f.code {
        case .nonIntegerBalanceFactor: return " — in this schedule it gets no picks"
        case .gcdNeverTerminates: return " — Go clients never produce this schedule; it is shown with the correct GCD"
        case .emptyServiceAddress: return " — Go clients send this share to their own host"
        case .duplicateAddress: return " — this schedule keeps the first, as Go clients do"
        }
    }

    /// The targets from --weights, --target or Consul, and the lint of Consul's (or --target's) registrations.
    static func resolveTargets(_ args: ParsedArguments) async throws -> ([WeightedTarget], [LintFinding]) {
        if let text = args[Options.weights] { return (try parseWeights(text), []) }
        guard args[ConsulOptions.service] != nil || !args[ConsulOptions.target].isEmpty else {
            throw UsageError("give --weights A=4,B=3, --target HOST:PORT[@WEIGHT] or --service NAME (or MINDALPHA_SERVICE)", command: spec.name)
        }
        let instances: [Instance]
        switch try ConsulOptions.instances(args, command: spec.name) {
        case let .targets(targets):
            instances = targets
        case let .consul(settings, query):
            let client = try ConsulClient(settings: settings, logger: Logs.make("consul"))
            defer { Task { try? await client.shutdown() } }
            do {
                instances = try await client.health(query).instances
            } catch {
                throw CommandError(error.description, code: error.isUnreachable ? .unavailable : .failure)
            }
            if instances.isEmpty {
                throw CommandError("service '\(query.service)' has no passing instance in consul at \(settings.hostPort)", code: .unavailable)
            }
        }
        let findings = RegistrationLint.check(instances)
        var seen = Set<String>()
        let targets = instances.filter { seen.insert($0.address).inserted }.map { WeightedTarget(name: $0.address, weight: $0.weight) }
        return (targets, findings)
    }

    /// `A=4,B=3,C=2`; a bad item is a usage error naming it.
    static func parseWeights(_ text: String) throws(UsageError) -> [WeightedTarget] {
        var targets: [WeightedTarget] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            guard parts.count == 2, !name.isEmpty else {
                throw UsageError("--weights: '\(item)' is not NAME=WEIGHT (e.g. A=4,B=3)", command: spec.name)
            }
            guard let weight = Int(parts[1].trimmingCharacters(in: .whitespaces)), weight >= 0 else {
                throw UsageError("--weights: '\(item)' has weight '\(parts[1])', not a whole number ≥ 0", command: spec.name)
            }
            guard !targets.contains(where: { $0.name == name }) else {
                throw UsageError("--weights: '\(name)' is given twice", command: spec.name)
            }
            targets.append(WeightedTarget(name: name, weight: weight))
        }
        return targets
    }

    /// The schedule's document with the lint of the registrations it came from, as one JSON object.
    struct Document: Encodable {
        var schedule: ScheduleReport
        var lint: [LintEntry]

        enum Keys: String, CodingKey { case lint }

        func encode(to encoder: any Encoder) throws {
            try schedule.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(lint, forKey: .lint)
        }
    }
}
