import CommandLineKit
import Foundation
import MindAlphaBench
import MindAlphaDiscovery

/// Consul's key/value store as the meeting place of a run's agents.
struct ConsulKVStore: CoordinationStore {
    let client: ConsulClient

    func create(_ key: String, value: [UInt8]) async throws -> Bool { try await client.kvPut(key, value: value, cas: 0) }

    func put(_ key: String, value: [UInt8]) async throws { try await client.kvPut(key, value: value) }

    func list(_ prefix: String, after index: UInt64?, wait: Duration) async throws -> (entries: [String: [UInt8]], index: UInt64) {
        let (pairs, next) = try await client.kvList(prefix: prefix, index: index, wait: wait)
        return (Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }), next)
    }
}

/// `bench --shard/--agents/--coordinate/--start-at`: how this agent shares a load with others, and the steps of a
/// coordinated start.
struct CoordinatedRun {
    let shard: Shard?
    let agents: Int
    let runID: String?
    let startAt: Date?
    let splitConns: Bool
    let timeout: Duration
    let coordinator: RunCoordinator?
    let client: ConsulClient?

    /// Reads and checks the options; a coordinated run opens its Consul client (``close()`` it).
    init(_ args: ParsedArguments, command: String) throws {
        typealias O = BenchCommand.Options
        var shard: Shard?
        if let text = args[O.shard] {
            do { shard = try Shard(parsing: text) } catch { throw UsageError("--shard: \(error)", command: command) }
        }
        let agents = args[O.agents] ?? shard?.count ?? 1
        if let shard, shard.count != agents {
            throw UsageError("--shard \(shard) says \(shard.count) agents, --agents \(agents): give one number", command: command)
        }
        guard agents <= Shard.maxCount else { throw UsageError("--agents: at most \(Shard.maxCount)", command: command) }
        self.shard = shard
        self.agents = agents
        runID = args[O.coordinate]
        if let id = runID, let problem = RunCoordinator.problem(runID: id) { throw UsageError("--coordinate: \(problem)", command: command) }
        if let text = args[O.startAt] {
            guard let date = BenchReport.date(text) else {
                throw UsageError("--start-at: '\(text)' is not an RFC 3339 time (2026-12-02T10:00:00Z, 2026-12-02T10:00:00.250+01:00)", command: command)
            }
            startAt = date
        } else {
            startAt = nil
        }
        splitConns = args[O.shardConns] == "split"
        timeout = args[O.coordinateTimeout]
        if let id = runID {
            let client = try ConsulClient(settings: ConsulOptions.settings(args, command: command))
            self.client = client
            coordinator = RunCoordinator(store: ConsulKVStore(client: client), runID: id)
        } else {
            client = nil
            coordinator = nil
        }
    }

    func close() async { try? await client?.shutdown() }

    /// Connections per instance for `shard`: its part of `conns` (at least one each), or all of them.
    func conns(_ conns: Int, for shard: Shard) -> Int { splitConns ? max(1, shard.part(of: conns)) : conns }

    /// This agent's shard: the one given, or (coordinated) the first one free in the run.
    func claim() async throws -> Shard {
        guard let coordinator else { return shard ?? .whole }
        do {
            return try await coordinator.join(agents: agents, shard: shard, host: Self.host, pid: Int(getpid()))
        } catch {
            throw CommandError(error.description, code: error.kind == .taken ? .failure : .unavailable)
        }
    }

    /// Waits for the other agents and the agreed start (coordinated), or for `--start-at`; then until that moment.
    /// Returns the start and the start record's age (coordinated).
    func meet(as shard: Shard) async throws -> (start: Date, recordAge: Duration?)? {
        var start = startAt
        var age: Duration?
        if let coordinator {
            do {
                _ = try await coordinator.waitForAll(agents: agents, timeout: timeout)
                let agreed = try await coordinator.agreeOnStart(as: shard)
                start = agreed.start
                age = agreed.recordAge
            } catch {
                throw CommandError(error.description, code: error.kind == .taken ? .failure : .unavailable)
            }
        }
        guard let start else { return nil }
        let wait = start.timeIntervalSinceNow
        if wait < -1 {
            Output.err("\(Program.spec.name) bench: warning: the agreed start \(BenchReport.timestamp(start)) was \(String(format: "%.1f", -wait))s ago: starting now, late")
        } else if wait > 0 {
            try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
        }
        return (start, age)
    }

    /// Writes the report where `report merge --run` reads it.
    func publish(_ report: BenchReport, shard: Shard) async throws {
        guard let coordinator else { return }
        do {
            try await coordinator.publish(report: Data(report.json.utf8), shard: shard)
        } catch {
            throw CommandError("could not write this agent's report to Consul: \(error.description) — it is printed above; merge it with report merge FILE", code: .unavailable)
        }
    }

    static var host: String { ProcessInfo.processInfo.hostName }

    // MARK: report merge --run

    /// A coordinated run's reports, waiting up to `wait` for every agent's; says which agents sent none.
    static func reports(_ args: ParsedArguments, runID: String, wait: Duration) async throws -> [BenchReport] {
        let name = ReportCommand.spec.name
        if let problem = RunCoordinator.problem(runID: runID) { throw UsageError("--run: \(problem)", command: name) }
        let client = try ConsulClient(settings: ConsulOptions.settings(args, command: name))
        defer { Task { try? await client.shutdown() } }
        let coordinator = RunCoordinator(store: ConsulKVStore(client: client), runID: runID)
        let deadline = ContinuousClock.now + wait
        var found: (reports: [Int: Data], joined: [Int: RunCoordinator.AgentRecord])
        while true {
            do { found = try await coordinator.reports() } catch { throw CommandError(error.description, code: .unavailable) }
            let expected = found.joined.values.compactMap { try? Shard(parsing: $0.shard).count }.max() ?? found.joined.count
            if found.reports.count >= max(1, expected) || ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        guard !found.reports.isEmpty else {
            throw CommandError("run \(runID) has no reports in Consul at \(client.settings.hostPort): no agent of it has finished, or the run ID is wrong")
        }
        for (i, record) in found.joined.sorted(by: { $0.key < $1.key }) where found.reports[i] == nil {
            Output.err("\(Program.spec.name) report: warning: shard \(record.shard) (\(record.host), pid \(record.pid)) joined run \(runID) but sent no report: it died, or is still running")
        }
        return try found.reports.sorted { $0.key < $1.key }.map { try ReportCommand.decode($0.value, name: "shard \($0.key)'s report") }
    }
}
