import CommandLineKit
import Foundation
import Histogram
import Logging
import MindAlphaBench
import MindAlphaPool
import MindAlphaWire
import NIOConcurrencyHelpers
import NIOCore

/// The REPL's interpreter: a line is parsed into a ``REPLCommand``, run against the pool into a ``REPLResult``, and
/// rendered as ``REPLOutput`` (text and JSON). No terminal here: lines come from a ``LineReader``.
///
/// One command at a time: the caller awaits each ``execute(_:)`` before the next (it may run it in a task of its
/// own, to cancel it); the session's own state is behind a lock all the same.
public final class REPLSession: Sendable {
    /// The commands' names, usages and help, for `help` and completion.
    public static var commands: [(name: String, usage: String, help: String)] { REPLCommand.table }

    public let label: String
    private let poolTask: Task<ConnectionPool, any Error>
    private let poolReady: NIOLockedValueBox<Bool>
    private let state: NIOLockedValueBox<State>

    private struct State {
        var pinned: String?
        var timeout: Duration
        var jsonOutput: Bool
        var latencies = LoadRecorder.makeHistogram()
        var ok = 0
        var failures = 0
    }

    /// Starts the pool in the background: the prompt does not wait for Consul.
    public init(configuration: PoolConfiguration, label: String, jsonOutput: Bool = false, logger: Logger = Logger(label: "mindalpha.repl")) {
        self.label = label
        self.state = NIOLockedValueBox(State(timeout: configuration.requestTimeout, jsonOutput: jsonOutput))
        let ready = NIOLockedValueBox(false)
        self.poolReady = ready
        self.poolTask = Task {
            let pool = try await ConnectionPool.start(configuration, logger: logger)
            ready.withLockedValue { $0 = true }
            return pool
        }
    }

    /// The instance requests are pinned to, if any (`use`).
    public var pinned: String? { state.withLockedValue { $0.pinned } }
    /// The request timeout (`timeout`).
    public var timeout: Duration { state.withLockedValue { $0.timeout } }
    /// Whether results print as JSON lines (`--json`, `set output json`).
    public var jsonOutput: Bool {
        get { state.withLockedValue { $0.jsonOutput } }
        set { state.withLockedValue { $0.jsonOutput = newValue } }
    }

    public var prompt: String { pinned.map { "\(label)@\($0)> " } ?? "\(label)> " }

    /// The pool's instance addresses, if it is up (for completion).
    public var knownInstances: [String] {
        get async {
            guard let pool = try? await poolTask.value else { return [] }
            return pool.statistics().instances.map(\.instance.address)
        }
    }

    /// The instance addresses if the pool is already up (never waits for it: for completion at the prompt).
    public var knownInstancesIfReady: [String] {
        get async {
            guard poolReady.withLockedValue({ $0 }) else { return [] }
            return await knownInstances
        }
    }

    /// Ends the session: a pool still starting (Consul slow to answer) is given up, an open one shut down.
    public func shutdown() async {
        if !poolReady.withLockedValue({ $0 }) { poolTask.cancel() }
        if let pool = try? await poolTask.value { await pool.shutdown(deadline: .seconds(2)) }
    }

    /// Runs every line `reader` gives until its end or `quit`, handing each command's output (text, or a JSON line
    /// when JSON output is on) to `write`; returns whether any command failed (a script's exit status).
    public func run(_ reader: any LineReader, write: (String) -> Void) async -> Bool {
        var failed = false
        while let line = await reader.readLine(prompt: reader.isInteractive ? prompt : "") {
            guard let output = await execute(line) else { continue }
            if output.quit { break }
            failed = failed || output.failed
            write(jsonOutput ? output.jsonLine : output.text)
        }
        return failed
    }

    /// Runs one line; `nil` for a blank line or a `#` comment.
    public func execute(_ line: String) async -> REPLOutput? {
        switch REPLCommand.parse(line) {
        case nil: return nil
        case let .failure(error)?: return .failure(error.message, command: error.command)
        case let .success(command)?: return REPLOutput(await run(command))
        }
    }

    /// Runs one command.
    public func run(_ command: REPLCommand) async -> REPLResult {
        switch command {
        case let .send(body): return await send(body)
        case let .predict(model, columns, level): return await predict(model, columns, level: level)
        case let .use(instance): return await use(instance)
        case .instances: return await withPool("instances") { .instances($0.statistics(), pinned: pinned) }
        case .pool: return await withPool("pool") { .pool($0.statistics()) }
        case .stats:
            return state.withLockedValue { .summary(.init(command: "stats", succeeded: $0.ok, failed: $0.failures, latencies: $0.latencies)) }
        case let .repeat(n, inner): return await repeatCommand(n, inner)
        case let .timeout(d):
            return state.withLockedValue { state in
                if let d { state.timeout = d }
                return .timeout(state.timeout)
            }
        case let .output(json):
            jsonOutput = json
            return .output(json: json)
        case let .help(name): return .help(name)
        case .quit: return .quit
        }
    }

    /// The largest body a request can carry: the frame limit less the 8 meta bytes.
    static let maxBody = FrameParser.defaultMaxFrameSize - FrameHeader.metaSize

    struct Problem: Error { var message: String }

    /// A file's bytes as a request body: not a directory, and never more than a frame holds (so `/dev/zero` is
    /// refused, not read forever).
    static func readBody(_ path: String) -> Result<Data, Problem> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return .failure(Problem(message: "cannot read '\(path)': no such file"))
        }
        guard !isDirectory.boolValue else { return .failure(Problem(message: "'\(path)' is a directory, not a body")) }
        guard let handle = FileHandle(forReadingAtPath: path) else { return .failure(Problem(message: "cannot read '\(path)'")) }
        defer { try? handle.close() }
        var data = Data()
        while data.count <= maxBody {
            guard let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty else { return .success(data) }
            data.append(chunk)
        }
        return .failure(Problem(message: "'\(path)' is larger than a request can carry (\(maxBody) bytes)"))
    }

    // MARK: requests

    /// `body`'s result with the pool, or why there is none (discovery failed): the session goes on either way.
    private func withPool(_ command: String, _ body: (ConnectionPool) async -> REPLResult) async -> REPLResult {
        let pool: ConnectionPool
        do { pool = try await poolTask.value } catch {
            return .refused(command: command, message: "\(error)", errorClass: "unavailable")
        }
        return await body(pool)
    }

    private func send(_ body: REPLCommand.Body) async -> REPLResult {
        let bytes: ByteBuffer
        switch body {
        case let .text(text): bytes = ByteBuffer(string: text)
        case let .bytes(raw): bytes = ByteBuffer(bytes: raw)
        case let .file(path):
            switch Self.readBody(path) {
            case let .success(data): bytes = ByteBuffer(bytes: data)
            case let .failure(problem): return .refused(command: "send", message: problem.message, errorClass: "usage")
            }
        }
        return await request("send", bytes) { .answered(.init(response: $0, kind: .raw)) }
    }

    private func predict(_ model: String, _ columns: [REPLCommand.Column], level: Int) async -> REPLResult {
        var builder = IndexBatchBuilder()
        for column in columns { builder.addColumn(column.name, value: column.value, level: level) }
        let body = ByteBuffer(bytes: Request(algoName: model, indexBatches: [builder.build()]).flatBuffer())
        return await request("predict", body) { .answered(.init(response: $0, kind: .prediction(try? Response(flatBuffer: $0.body)))) }
    }

    /// Sends a body and counts the outcome in this session's statistics.
    private func request(_ command: String, _ body: ByteBuffer, answered: (PoolResponse) -> REPLResult) async -> REPLResult {
        let result = await withPool(command) { pool in
            let (target, timeout) = state.withLockedValue { ($0.pinned, $0.timeout) }
            do throws(PoolError) {
                return answered(try await pool.send(body, to: target, timeout: timeout))
            } catch {
                return .requestFailed(command: command, error)
            }
        }
        state.withLockedValue { state in
            if case let .answered(answer) = result {  // delivered, if perhaps without scores
                state.ok += 1
                _ = state.latencies.record(UInt64(max(answer.response.latencyNanoseconds, 1_000)))
            } else {
                state.failures += 1
            }
        }
        return result
    }

    // MARK: session commands

    private func use(_ instance: String?) async -> REPLResult {
        guard let instance else {
            state.withLockedValue { $0.pinned = nil }
            return .pinned(nil)
        }
        let known = await knownInstances
        let matches = known.filter { $0 == instance || $0.hasSuffix(":" + instance) }
        guard matches.count == 1 else {
            let list = known.isEmpty ? "none known yet" : known.joined(separator: ", ")
            let message = matches.isEmpty ? "no instance '\(instance)' (instances: \(list))" : "'\(instance)' matches \(matches.joined(separator: ", ")); give host:port"
            return .refused(command: "use", message: message, errorClass: "usage")
        }
        state.withLockedValue { $0.pinned = matches[0] }
        return .pinned(matches[0])
    }

    private func repeatCommand(_ n: Int, _ command: REPLCommand) async -> REPLResult {
        var summary = REPLResult.Summary(command: "repeat", succeeded: 0, failed: 0, latencies: LoadRecorder.makeHistogram())
        for _ in 0..<n {
            if Task.isCancelled { break }
            let result = await run(command)
            if result.failed {
                summary.failed += 1
                if summary.firstFailure == nil { summary.firstFailure = REPLOutput(result).text }
            } else {
                summary.succeeded += 1
                if let latency = result.latencyNanoseconds { _ = summary.latencies.record(UInt64(max(latency, 1_000))) }
            }
        }
        return .summary(summary)
    }
}
