import CommandLineKit
import Foundation
import Histogram
import Logging
import MindAlphaBench
import MindAlphaPool
import MindAlphaWire
import NIOConcurrencyHelpers
import NIOCore

/// The REPL's interpreter: parses a line, runs it against the pool, formats the result as text and as JSON.
/// No terminal here: lines come from a ``LineReader`` and results go back as ``REPLOutput``.
///
/// One command at a time: the caller awaits each ``execute(_:)`` before the next (it may run it in a task of its
/// own, to cancel it), which is what makes sharing it across tasks safe.
public final class REPLSession: @unchecked Sendable {
    /// The commands, for `help` and completion.
    public static let commands: [(name: String, usage: String, help: String)] = [
        ("send", "send <text> | send hex <bytes> | send @<file>", "Send a raw body to the next instance (or the pinned one); print latency, instance, request ID and the answer."),
        ("predict", "predict <model> col=value [col=value …] [level=N]", "Send a one-row prediction request built with the Go client's rules; print the scores (and debug_info)."),
        ("use", "use <instance> | use any", "Pin requests to one instance (host:port, or a unique port) or go back to weighted round robin."),
        ("instances", "instances", "The instances the pool knows: weight, share, connections, ejection."),
        ("pool", "pool", "Per-instance connection and request counters."),
        ("stats", "stats", "Latency summary of this session's requests."),
        ("repeat", "repeat <N> <command>", "Run a command N times, then print a latency summary."),
        ("timeout", "timeout [duration]", "Show or set the request timeout (e.g. 500ms)."),
        ("set", "set output json|text", "Print results as JSON lines or as text."),
        ("help", "help [command]", "List the commands, or explain one."),
        ("quit", "quit", "End the session (Ctrl-D too)."),
    ]

    public let label: String
    public private(set) var pinned: String?
    public private(set) var timeout: Duration
    public var jsonOutput: Bool
    private let poolTask: Task<ConnectionPool, any Error>
    private let poolReady: NIOLockedValueBox<Bool>
    private var latencies = LoadRecorder.makeHistogram()
    private var ok = 0
    private var failures = 0

    /// Starts the pool in the background: the prompt does not wait for Consul.
    public init(configuration: PoolConfiguration, label: String, jsonOutput: Bool = false, logger: Logger = Logger(label: "mindalpha.repl")) {
        self.label = label
        self.timeout = configuration.requestTimeout
        self.jsonOutput = jsonOutput
        let ready = NIOLockedValueBox(false)
        self.poolReady = ready
        self.poolTask = Task {
            let pool = try await ConnectionPool.start(configuration, logger: logger)
            ready.withLockedValue { $0 = true }
            return pool
        }
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
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return nil }
        let (word, rest) = Self.split(trimmed)
        switch word.lowercased() {
        case "send": return await send(rest)
        case "predict": return await predict(rest)
        case "use": return await use(rest)
        case "instances": return await instances()
        case "pool": return await poolStats()
        case "stats": return stats()
        case "repeat": return await repeatCommand(rest)
        case "timeout": return setTimeout(rest)
        case "set": return set(rest)
        case "help", "?": return help(rest)
        case "quit", "exit": return REPLOutput(text: "", json: ["command": .string("quit"), "ok": .bool(true)], quit: true)
        default:
            let suggestion = closest(to: word, among: Self.commands.map(\.name)).map { " — did you mean '\($0)'?" } ?? ""
            return .failure("unknown command '\(word)'\(suggestion) (help lists them)", command: word)
        }
    }

    struct Problem: Error { var message: String }

    /// The largest body a request can carry: the frame limit less the 8 meta bytes.
    static let maxBody = FrameParser.defaultMaxFrameSize - FrameHeader.metaSize

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

    static func split(_ text: String) -> (String, String) {
        guard let space = text.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return (text, "") }
        return (String(text[..<space]), text[space...].trimmingCharacters(in: .whitespaces))
    }

    // MARK: requests

    private enum PoolOrFailure {
        case success(ConnectionPool)
        case failure(REPLOutput)
    }

    /// The pool, or the output saying why there is none (discovery failed): the session goes on either way.
    private func pool(_ command: String) async -> PoolOrFailure {
        do {
            return .success(try await poolTask.value)
        } catch {
            return .failure(.failure("\(error)", command: command, error: "unavailable"))
        }
    }

    private func send(_ rest: String) async -> REPLOutput {
        let body: ByteBuffer
        if rest.isEmpty { return .failure("send needs a body: send <text>, send hex <bytes> or send @<file>", command: "send") }
        let (first, afterFirst) = Self.split(rest)
        if first == "hex" {
            guard let bytes = parseHexBytes(afterFirst), !afterFirst.isEmpty else {
                return .failure("'\(afterFirst)' is not hex bytes (e.g. send hex 0a 1b 2c)", command: "send")
            }
            body = ByteBuffer(bytes: bytes)
        } else if rest.hasPrefix("@") {
            let path = String(rest.dropFirst())
            switch Self.readBody(path) {
            case let .success(bytes): body = ByteBuffer(bytes: bytes)
            case let .failure(problem): return .failure(problem.message, command: "send")
            }
        } else {
            body = ByteBuffer(string: rest)
        }
        return await request("send", body) { response in
            let bytes = Array(response.body.readableBytesView)
            var json: [String: JSONValue] = ["size": .integer(bytes.count)]
            var text: String
            if let utf8 = String(bytes: bytes, encoding: .utf8), utf8.allSatisfy({ !$0.isASCII || $0.isLetter || $0.isNumber || $0.isPunctuation || $0.isSymbol || $0 == " " || $0 == "\n" || $0 == "\t" }) {
                json["body"] = .string(utf8)
                text = utf8
            } else {
                json["body_hex"] = .string(bytes.map { String(format: "%02x", $0) }.joined())
                text = Self.hexDump(bytes)
            }
            return (text, json)
        }
    }

    private func predict(_ rest: String) async -> REPLOutput {
        let words = rest.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let model = words.first, !model.contains("=") else {
            return .failure("predict needs a model and columns: predict <model> col=value [col=value …] [level=N]", command: "predict")
        }
        var level = 2
        var columns: [(String, String)] = []
        for word in words.dropFirst() {
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                return .failure("'\(word)' is not col=value", command: "predict")
            }
            if parts[0] == "level" {
                guard let n = Int(parts[1]), (0..<3).contains(n) else { return .failure("level must be 0, 1 or 2", command: "predict") }
                level = n
            } else {
                columns.append((parts[0], parts[1]))
            }
        }
        guard !columns.isEmpty else { return .failure("predict needs at least one col=value", command: "predict") }
        var builder = IndexBatchBuilder()
        for (name, value) in columns { builder.addColumn(name, value: value, level: level) }
        let body = ByteBuffer(bytes: Request(algoName: model, indexBatches: [builder.build()]).flatBuffer())
        var output = await request("predict", body) { response in
            guard let decoded = try? Response(flatBuffer: response.body) else {
                return ("answer is not a FlatBuffers Response (\(response.body.readableBytes) bytes)", ["error": .string("not a Response"), "scores": .array([])])
            }
            var text = "scores: " + (decoded.scores.isEmpty ? "(none)" : decoded.scores.map { String(format: "%.6g", $0) }.joined(separator: " "))
            var json: [String: JSONValue] = ["scores": .array(decoded.scores.map { .number(Double($0)) })]
            if let debug = decoded.debugInfo {
                text += "\ndebug_info: \(debug)"
                json["debug_info"] = .string(debug)
            }
            return (text, json)
        }
        // An answer without scores is what a failed prediction looks like: a script must see it fail.
        if !output.failed, case let .array(scores)? = output.json["scores"], scores.isEmpty {
            output.failed = true
            output.json["ok"] = .bool(false)
            output.json["class"] = .string("invalid")
        }
        return output
    }

    /// Sends a body, records the latency, and formats the common part of the answer around `describe`'s.
    private func request(
        _ command: String, _ body: ByteBuffer,
        describe: (PoolResponse) -> (String, [String: JSONValue])
    ) async -> REPLOutput {
        let pool: ConnectionPool
        switch await self.pool(command) {
        case let .success(p): pool = p
        case let .failure(output): failures += 1; return output
        }
        do {
            let response = try await pool.send(body, to: pinned, timeout: timeout)
            ok += 1
            _ = latencies.record(UInt64(max(response.latencyNanoseconds, 1_000)))
            let (detail, extra) = describe(response)
            let latencyUs = Double(response.latencyNanoseconds) / 1000
            var json: [String: JSONValue] = [
                "command": .string(command), "ok": .bool(true), "instance": .string(response.instance),
                "request_id": .integer(Int(response.requestID)), "latency_us": .number((latencyUs * 10).rounded() / 10),
            ]
            json.merge(extra) { $1 }
            let head = "\(response.instance)  id \(response.requestID)  \(formatLatency(microseconds: latencyUs))  \(response.body.readableBytes) bytes"
            return REPLOutput(text: head + "\n" + detail, json: json)
        } catch {
            failures += 1
            // The pool says what happened; what to type about it is the REPL's to say.
            var message = error.description
            if case .noSuchInstance = error { message += " — list them with `instances`, or type `use any`" }
            var json: [String: JSONValue] = [
                "command": .string(command), "ok": .bool(false), "class": .string(error.errorClass.rawValue),
                "error": .string(message),
            ]
            if let instance = error.instance { json["instance"] = .string(instance) }
            return REPLOutput(text: "error (\(error.errorClass.rawValue)): \(message)", json: json, failed: true)
        }
    }

    // MARK: session commands

    private func use(_ rest: String) async -> REPLOutput {
        guard !rest.isEmpty else { return .failure("use <instance> or use any", command: "use") }
        if rest == "any" {
            pinned = nil
            return REPLOutput(text: "weighted round robin over every instance", json: ["command": .string("use"), "ok": .bool(true), "instance": .null])
        }
        let known = await knownInstances
        let matches = known.filter { $0 == rest || $0.hasSuffix(":" + rest) }
        guard matches.count == 1 else {
            let list = known.isEmpty ? "none known yet" : known.joined(separator: ", ")
            return .failure(matches.isEmpty ? "no instance '\(rest)' (instances: \(list))" : "'\(rest)' matches \(matches.joined(separator: ", ")); give host:port", command: "use")
        }
        pinned = matches[0]
        return REPLOutput(text: "pinned to \(matches[0])", json: ["command": .string("use"), "ok": .bool(true), "instance": .string(matches[0])])
    }

    private func instances() async -> REPLOutput {
        let pool: ConnectionPool
        switch await self.pool("instances") {
        case let .success(p): pool = p
        case let .failure(output): return output
        }
        let stats = pool.statistics()
        let total = stats.instances.filter { !$0.removed }.reduce(0) { $0 + $1.instance.weight }
        var rows: [[String]] = []
        var items: [JSONValue] = []
        for i in stats.instances {
            let share = total == 0 || i.removed ? 0 : Double(i.instance.weight) / Double(total)
            let state = i.removed ? "leaving" : i.ejectedFor.map { "ejected \($0)" } ?? "in schedule"
            rows.append([i.instance.address, String(i.instance.weight), String(format: "%.1f%%", share * 100), String(i.open), state,
                         i.instance.address == pinned ? "*" : ""])
            items.append(.object(["address": .string(i.instance.address), "weight": .integer(i.instance.weight),
                                  "share": .number((share * 1e6).rounded() / 1e6), "open": .integer(i.open), "state": .string(state)]))
        }
        var text = TableFormatter.render(header: ["ADDRESS", "WEIGHT", "SHARE", "CONNECTIONS", "STATE", "PINNED"], rows: rows)
        if let discovery = stats.discoveryError { text += "\nconsul is failing, showing the last good set: \(discovery)" }
        return REPLOutput(text: text, json: ["command": .string("instances"), "ok": .bool(true), "instances": .array(items)])
    }

    private func poolStats() async -> REPLOutput {
        let pool: ConnectionPool
        switch await self.pool("pool") {
        case let .success(p): pool = p
        case let .failure(output): return output
        }
        var rows: [[String]] = []
        var items: [JSONValue] = []
        for i in pool.statistics().instances {
            let c = i.counters
            rows.append([i.instance.address, String(i.open), String(i.idle), String(i.busy), String(i.connecting), String(i.inFlight),
                         String(c.sent), String(c.ok), String(c.failed), String(c.late), String(c.duplicate), String(c.unknown)])
            items.append(.object(["address": .string(i.instance.address), "open": .integer(i.open), "idle": .integer(i.idle),
                                  "busy": .integer(i.busy), "connecting": .integer(i.connecting), "in_flight": .integer(i.inFlight),
                                  "sent": .integer(c.sent), "ok": .integer(c.ok), "failed": .integer(c.failed),
                                  "late": .integer(c.late), "duplicate": .integer(c.duplicate), "unknown": .integer(c.unknown)]))
        }
        let text = TableFormatter.render(header: ["ADDRESS", "OPEN", "IDLE", "BUSY", "CONNECTING", "IN FLIGHT", "SENT", "OK", "FAILED", "LATE", "DUPLICATE", "UNKNOWN"], rows: rows)
        return REPLOutput(text: text, json: ["command": .string("pool"), "ok": .bool(true), "instances": .array(items)])
    }

    private func stats() -> REPLOutput {
        summary("stats", latencies, ok: ok, failed: failures)
    }

    private func summary(_ command: String, _ h: LatencyHistogram, ok: Int, failed: Int) -> REPLOutput {
        var json: [String: JSONValue] = ["command": .string(command), "ok": .bool(true), "requests": .integer(ok + failed),
                                         "succeeded": .integer(ok), "failed": .integer(failed)]
        var text = "\(ok + failed) request\(ok + failed == 1 ? "" : "s"), \(failed) failed"
        if h.totalCount > 0 {
            let p = [("p50", 50.0), ("p90", 90.0), ("p99", 99.0)].map { ($0.0, Double(h.valueAtPercentile($0.1)) / 1000) }
            let values = [("min", Double(h.min) / 1000)] + p + [("max", Double(h.max) / 1000)]
            text += "  " + values.map { "\($0.0) \(formatLatency(microseconds: $0.1))" }.joined(separator: "  ")
            for (name, v) in values { json["\(name)_us"] = .number((v * 10).rounded() / 10) }
        }
        return REPLOutput(text: text, json: json)
    }

    private func repeatCommand(_ rest: String) async -> REPLOutput {
        let (count, command) = Self.split(rest)
        guard let n = Int(count), n >= 1, n <= 1_000_000, !command.isEmpty else {
            return .failure("repeat <N> <command>, N from 1 to 1,000,000", command: "repeat")
        }
        guard !command.lowercased().hasPrefix("repeat") else { return .failure("repeat cannot repeat itself", command: "repeat") }
        var h = LoadRecorder.makeHistogram()
        var succeeded = 0
        var failed = 0
        var firstFailure: REPLOutput?
        for _ in 0..<n {
            if Task.isCancelled { break }
            guard let output = await execute(command) else { continue }
            if output.failed {
                failed += 1
                if firstFailure == nil { firstFailure = output }
            } else {
                succeeded += 1
                if case let .number(us)? = output.json["latency_us"] { _ = h.record(UInt64(max(us * 1000, 1000))) }
            }
        }
        var out = summary("repeat", h, ok: succeeded, failed: failed)
        if let firstFailure { out.text += "\nfirst failure: \(firstFailure.text)" }
        out.failed = failed > 0
        return out
    }

    private func setTimeout(_ rest: String) -> REPLOutput {
        if !rest.isEmpty {
            guard case let .duration(d)? = ValueKind.duration.parse(rest), d > .zero else {
                return .failure("'\(rest)' is not a duration (e.g. 500ms, 2s)", command: "timeout")
            }
            timeout = d
        }
        return REPLOutput(text: "timeout \(formatDuration(timeout))", json: ["command": .string("timeout"), "ok": .bool(true), "timeout": .string(formatDuration(timeout))])
    }

    private func set(_ rest: String) -> REPLOutput {
        let words = rest.split(separator: " ").map(String.init)
        guard words.count == 2, words[0] == "output", ["json", "text"].contains(words[1]) else {
            return .failure("set output json|text", command: "set")
        }
        jsonOutput = words[1] == "json"
        return REPLOutput(text: "output \(words[1])", json: ["command": .string("set"), "ok": .bool(true), "output": .string(words[1])])
    }

    private func help(_ rest: String) -> REPLOutput {
        if !rest.isEmpty {
            guard let c = Self.commands.first(where: { $0.name == rest }) else {
                let suggestion = closest(to: rest, among: Self.commands.map(\.name)).map { " — did you mean '\($0)'?" } ?? ""
                return .failure("no command '\(rest)'\(suggestion)", command: "help")
            }
            return REPLOutput(text: "\(c.usage)\n  \(c.help)", json: ["command": .string("help"), "ok": .bool(true), "usage": .string(c.usage), "help": .string(c.help)])
        }
        let width = Self.commands.map(\.usage.count).max()!
        let text = Self.commands.map { $0.usage.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.help }.joined(separator: "\n")
            + "\nTab completes commands and instances; Ctrl-R searches history; Ctrl-C cancels a request; Ctrl-D or quit ends."
        return REPLOutput(text: text, json: ["command": .string("help"), "ok": .bool(true), "commands": .array(Self.commands.map { .string($0.name) })])
    }

    // MARK: formatting

    /// `0000  61 62 63 …  |abc…|`, 16 bytes a line.
    static func hexDump(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: bytes.count, by: 16).map { offset in
            let chunk = bytes[offset..<min(offset + 16, bytes.count)]
            let hex = chunk.map { String(format: "%02x", $0) }.joined(separator: " ")
            let ascii = String(chunk.map { (0x20..<0x7f).contains($0) ? Character(UnicodeScalar($0)) : "." })
            return String(format: "%04x  ", offset) + hex.padding(toLength: 47, withPad: " ", startingAt: 0) + "  |\(ascii)|"
        }.joined(separator: "\n")
    }
}
