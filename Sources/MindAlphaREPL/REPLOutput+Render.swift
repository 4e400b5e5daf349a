import Foundation
import MindAlphaPool
import MindAlphaWire

extension REPLOutput {
    /// The result as a person reads it and as a script parses it.
    public init(_ result: REPLResult) {
        switch result {
        case let .answered(answer):
            self = Self.answer(answer)
        case let .requestFailed(command, error):
            // The pool says what happened; what to type about it is the REPL's to say.
            var message = error.description
            if error.kind == .noSuchInstance { message += " — list them with `instances`, or type `use any`" }
            var json: [String: JSONValue] = [
                "command": .string(command), "ok": .bool(false), "class": .string(error.errorClass.rawValue), "error": .string(message),
            ]
            if let instance = error.instance { json["instance"] = .string(instance) }
            self.init(text: "error (\(error.errorClass.rawValue)): \(message)", json: json, failed: true)
        case let .refused(command, message, errorClass):
            self = .failure(message, command: command, error: errorClass)
        case let .pinned(instance?):
            self.init(text: "pinned to \(instance)", json: ["command": .string("use"), "ok": .bool(true), "instance": .string(instance)])
        case .pinned(nil):
            self.init(text: "weighted round robin over every instance", json: ["command": .string("use"), "ok": .bool(true), "instance": .null])
        case let .instances(stats, pinned):
            self = Self.instances(stats, pinned: pinned)
        case let .pool(stats):
            self = Self.pool(stats)
        case let .summary(summary):
            self = Self.summary(summary)
        case let .timeout(timeout):
            self.init(text: "timeout \(formatDuration(timeout))", json: ["command": .string("timeout"), "ok": .bool(true), "timeout": .string(formatDuration(timeout))])
        case let .output(json):
            let word = json ? "json" : "text"
            self.init(text: "output \(word)", json: ["command": .string("set"), "ok": .bool(true), "output": .string(word)])
        case let .help(name?):
            let c = REPLCommand.table.first { $0.name == name }!
            self.init(text: "\(c.usage)\n  \(c.help)", json: ["command": .string("help"), "ok": .bool(true), "usage": .string(c.usage), "help": .string(c.help)])
        case .help(nil):
            let table = REPLCommand.table
            let width = table.map(\.usage.count).max()!
            let text = table.map { $0.usage.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.help }.joined(separator: "\n")
                + "\nTab completes commands and instances; Ctrl-R searches history; Ctrl-C cancels a request; Ctrl-D or quit ends."
            self.init(text: text, json: ["command": .string("help"), "ok": .bool(true), "commands": .array(table.map { .string($0.name) })])
        case .quit:
            self.init(text: "", json: ["command": .string("quit"), "ok": .bool(true)], quit: true)
        }
    }

    private static func answer(_ answer: REPLResult.Answer) -> REPLOutput {
        let response = answer.response
        let latencyUs = Double(response.latencyNanoseconds) / 1000
        var json: [String: JSONValue] = [
            "command": .string(answer.command), "ok": .bool(true), "instance": .string(response.instance),
            "request_id": .integer(Int(response.requestID)), "latency_us": .number((latencyUs * 10).rounded() / 10),
        ]
        var detail: String
        switch answer.kind {
        case .raw:
            let bytes = Array(response.body.readableBytesView)
            json["size"] = .integer(bytes.count)
            if let utf8 = String(bytes: bytes, encoding: .utf8), utf8.allSatisfy({ !$0.isASCII || $0.isLetter || $0.isNumber || $0.isPunctuation || $0.isSymbol || $0 == " " || $0 == "\n" || $0 == "\t" }) {
                json["body"] = .string(utf8)
                detail = utf8
            } else {
                json["body_hex"] = .string(bytes.map { String(format: "%02x", $0) }.joined())
                detail = hexDump(bytes)
            }
        case .prediction(nil):
            detail = "answer is not a FlatBuffers Response (\(response.body.readableBytes) bytes)"
            json["error"] = .string("not a Response")
            json["scores"] = .array([])
        case let .prediction(decoded?):
            detail = "scores: " + (decoded.scores.isEmpty ? "(none)" : decoded.scores.map { String(format: "%.6g", $0) }.joined(separator: " "))
            json["scores"] = .array(decoded.scores.map { .number(Double($0)) })
            if let debug = decoded.debugInfo {
                detail += "\ndebug_info: \(debug)"
                json["debug_info"] = .string(debug)
            }
        }
        if answer.isInvalid {
            json["ok"] = .bool(false)
            json["class"] = .string("invalid")
        }
        let head = "\(response.instance)  id \(response.requestID)  \(formatLatency(microseconds: latencyUs))  \(response.body.readableBytes) bytes"
        return REPLOutput(text: head + "\n" + detail, json: json, failed: answer.isInvalid)
    }

    private static func instances(_ stats: PoolStatistics, pinned: String?) -> REPLOutput {
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

    private static func pool(_ stats: PoolStatistics) -> REPLOutput {
        var rows: [[String]] = []
        var items: [JSONValue] = []
        for i in stats.instances {
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

    private static func summary(_ s: REPLResult.Summary) -> REPLOutput {
        let h = s.latencies
        var json: [String: JSONValue] = ["command": .string(s.command), "ok": .bool(true), "requests": .integer(s.succeeded + s.failed),
                                         "succeeded": .integer(s.succeeded), "failed": .integer(s.failed)]
        var text = "\(s.succeeded + s.failed) request\(s.succeeded + s.failed == 1 ? "" : "s"), \(s.failed) failed"
        if h.totalCount > 0 {
            let p = [("p50", 50.0), ("p90", 90.0), ("p99", 99.0)].map { ($0.0, Double(h.valueAtPercentile($0.1)) / 1000) }
            let values = [("min", Double(h.min) / 1000)] + p + [("max", Double(h.max) / 1000)]
            text += "  " + values.map { "\($0.0) \(formatLatency(microseconds: $0.1))" }.joined(separator: "  ")
            for (name, v) in values { json["\(name)_us"] = .number((v * 10).rounded() / 10) }
        }
        if let first = s.firstFailure { text += "\nfirst failure: \(first)" }
        return REPLOutput(text: text, json: json, failed: s.command == "repeat" && s.failed > 0)
    }

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
