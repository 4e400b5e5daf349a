import Foundation
import MindAlphaPool

/// The key/value store the agents of one run meet in (Consul's, for `bench --coordinate`).
public protocol CoordinationStore: Sendable {
    /// Writes `value` at `key` only if there is no such key (Consul: `?cas=0`); whether it did.
    func create(_ key: String, value: [UInt8]) async throws -> Bool
    func put(_ key: String, value: [UInt8]) async throws
    /// Every key under `prefix` with its value, and the prefix's index; with `after`, waits up to `wait` for the
    /// index to pass it (Consul: a blocking query).
    func list(_ prefix: String, after index: UInt64?, wait: Duration) async throws -> (entries: [String: [UInt8]], index: UInt64)
}

/// How several `bench` agents start one load together through a ``CoordinationStore``, under
/// `mindalpha-pool/runs/<run>/`: each claims `agents/<i>` (its shard, or the first one free), waits until all have,
/// then the first to write `start_at` (create-if-absent) fixes the start a few seconds ahead for all; at the end each
/// writes its report to `reports/<i>` (in parts, under Consul's 512 KiB value limit).
public struct RunCoordinator: Sendable {
    /// What an agent says of itself when it joins.
    public struct AgentRecord: Codable, Sendable, Equatable {
        public var shard: String
        public var host: String
        public var pid: Int
        public var joinedAt: String

        public init(shard: String, host: String, pid: Int, joinedAt: String) {
            self.shard = shard
            self.host = host
            self.pid = pid
            self.joinedAt = joinedAt
        }

        enum CodingKeys: String, CodingKey {
            case shard, host, pid
            case joinedAt = "joined_at"
        }
    }

    /// The agreed start.
    public struct StartRecord: Codable, Sendable, Equatable {
        /// When the measured load starts, by the wall clock (RFC 3339, milliseconds).
        public var at: String
        /// When it was written, by the writer's clock.
        public var writtenAt: String
        /// The writer's shard.
        public var by: String

        enum CodingKeys: String, CodingKey {
            case at, by
            case writtenAt = "written_at"
        }
    }

    /// What went wrong, in words, with the exit status it calls for.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public enum Kind: Sendable { case taken, missing, store }
        public let kind: Kind
        public let description: String
    }

    public let store: any CoordinationStore
    public let runID: String

    /// How far ahead of the moment all agents are there the start is set: time for every agent to read it.
    public static let lead: Duration = .seconds(3)
    /// A report's part: under Consul's 512 KiB value limit.
    static let partSize = 500_000

    public init(store: any CoordinationStore, runID: String) {
        self.store = store
        self.runID = runID
    }

    var prefix: String { "mindalpha-pool/runs/\(runID)/" }

    /// Why `id` cannot name a run (the characters Consul allows in a key segment), or `nil`.
    public static func problem(runID id: String) -> String? {
        if id.isEmpty || id.count > 128 { return "a run ID is 1 to 128 characters" }
        if id == "." || id == ".." { return "'\(id)' cannot name a run" }
        guard id.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.,".unicodeScalars.contains($0)) }) else {
            return "'\(id)' has characters a Consul key cannot hold: use letters, digits and - _ . ,"
        }
        return nil
    }

    // MARK: joining and starting

    /// Claims `shard` (or, without one, the first of `agents` free) for this agent. A shard already claimed is an
    /// error naming who holds it.
    public func join(agents: Int, shard: Shard?, host: String, pid: Int, now: Date = Date()) async throws(Failure) -> Shard {
        let candidates = shard.map { [$0] } ?? (1...agents).map { try! Shard(index: $0, count: agents) }
        for candidate in candidates {
            let record = AgentRecord(shard: candidate.description, host: host, pid: pid, joinedAt: BenchReport.timestamp(now))
            if try await attempt({ try await store.create(agentKey(candidate.index), value: Self.encode(record)) }) { return candidate }
        }
        if let shard {
            let holder = try await self.agents(after: nil, wait: .zero).records[shard.index]
            let who = holder.map { " (\($0.host), pid \($0.pid), joined \($0.joinedAt))" } ?? ""
            throw Failure(kind: .taken, description: "shard \(shard) of run \(runID) is taken already\(who): give each agent its own --shard, or start a new run with another --coordinate ID")
        }
        throw Failure(kind: .taken, description: "all \(agents) shards of run \(runID) are taken already: start a new run with another --coordinate ID, or raise --agents")
    }

    /// Waits until `agents` agents have joined, or fails after `timeout` naming the shards missing.
    public func waitForAll(agents: Int, timeout: Duration, clock: ContinuousClock = .init()) async throws(Failure) -> [Int: AgentRecord] {
        let deadline = clock.now + timeout
        var index: UInt64?
        while true {
            let left = deadline - clock.now
            let (records, next) = try await self.agents(after: index, wait: max(.zero, min(left, .seconds(60))))
            if records.count >= agents { return records }
            if clock.now >= deadline {
                let missing = (1...agents).filter { records[$0] == nil }.map { "\($0)/\(agents)" }
                throw Failure(kind: .missing, description: "only \(records.count) of \(agents) agents joined run \(runID) within \(formatDuration(timeout)) (missing: shard\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", "))): start the others, or lower --agents")
            }
            index = next
        }
    }

    /// Fixes the start: proposes `now + lead` if no start is written yet; whichever proposal was stored first is
    /// the start for all. Returns it, and how old its record was when read (this agent's clock against the writer's,
    /// plus the store's delay).
    public func agreeOnStart(as shard: Shard, now: Date = Date()) async throws(Failure) -> (start: Date, recordAge: Duration) {
        let proposal = StartRecord(at: BenchReport.timestamp(now.addingTimeInterval(Double(Self.lead.components.seconds))),
                                   writtenAt: BenchReport.timestamp(now), by: shard.description)
        _ = try await attempt({ try await store.create(prefix + "start_at", value: Self.encode(proposal)) })
        let (entries, _) = try await attempt({ try await store.list(prefix + "start_at", after: nil, wait: .zero) })
        let read = Date()
        guard let bytes = entries[prefix + "start_at"], let record = try? JSONDecoder().decode(StartRecord.self, from: Data(bytes)),
              let start = BenchReport.date(record.at), let written = BenchReport.date(record.writtenAt)
        else {
            throw Failure(kind: .store, description: "run \(runID)'s start_at is not a start this tool wrote: delete the run's keys, or use another --coordinate ID")
        }
        return (start, .milliseconds(Int64((read.timeIntervalSince(written) * 1000).rounded())))
    }

    // MARK: reports

    /// Writes this agent's report: its parts under `reports/<i>/`, then `reports/<i>` saying how many.
    public func publish(report: Data, shard: Shard) async throws(Failure) {
        let bytes = [UInt8](report)
        let parts = stride(from: 0, to: max(bytes.count, 1), by: Self.partSize).map { Array(bytes[$0..<min($0 + Self.partSize, bytes.count)]) }
        for (n, part) in parts.enumerated() {
            try await attempt({ try await store.put(prefix + "reports/\(shard.index)/\(n)", value: part) })
        }
        let manifest = "{\"parts\":\(parts.count),\"bytes\":\(bytes.count),\"shard\":\"\(shard)\"}"
        try await attempt({ try await store.put(prefix + "reports/\(shard.index)", value: Array(manifest.utf8)) })
    }

    /// The reports written so far, by shard number, and the number of agents that joined (`nil` if none did).
    public func reports() async throws(Failure) -> (reports: [Int: Data], joined: [Int: AgentRecord]) {
        let (entries, _) = try await attempt({ try await store.list(prefix, after: nil, wait: .zero) })
        var reports: [Int: Data] = [:]
        for (key, value) in entries {
            let rest = key.dropFirst(prefix.count + "reports/".count)
            guard key.hasPrefix(prefix + "reports/"), let i = Int(rest),
                  let manifest = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
                  let count = manifest["parts"] as? Int, let size = manifest["bytes"] as? Int
            else { continue }
            var data = Data()
            for n in 0..<count { data.append(contentsOf: entries[prefix + "reports/\(i)/\(n)"] ?? []) }
            if data.count == size { reports[i] = data }
        }
        return (reports, Self.records(entries, prefix: prefix + "agents/"))
    }

    // MARK: helpers

    private func agentKey(_ i: Int) -> String { prefix + "agents/\(i)" }

    private func agents(after index: UInt64?, wait: Duration) async throws(Failure) -> (records: [Int: AgentRecord], index: UInt64) {
        let (entries, next) = try await attempt({ try await store.list(prefix + "agents/", after: index, wait: wait) })
        return (Self.records(entries, prefix: prefix + "agents/"), next)
    }

    private static func records(_ entries: [String: [UInt8]], prefix: String) -> [Int: AgentRecord] {
        var records: [Int: AgentRecord] = [:]
        for (key, value) in entries where key.hasPrefix(prefix) {
            guard let i = Int(key.dropFirst(prefix.count)), let record = try? JSONDecoder().decode(AgentRecord.self, from: Data(value)) else { continue }
            records[i] = record
        }
        return records
    }

    private static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try! encoder.encode(value))
    }

    /// The store's own failure, in its words.
    private func attempt<R>(_ body: () async throws -> R) async throws(Failure) -> R {
        do { return try await body() } catch { throw Failure(kind: .store, description: "\(error)") }
    }
}
