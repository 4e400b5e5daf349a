import Foundation

/// What one command produced: text for a person, a JSON object for a script, and whether it failed.
public struct REPLOutput: Sendable {
    public var text: String
    /// The same as a JSON object (`--json`, `set output json`).
    public var json: [String: JSONValue]
    public var failed: Bool
    /// The session should end (`quit`).
    public var quit: Bool = false

    public init(text: String, json: [String: JSONValue], failed: Bool = false, quit: Bool = false) {
        self.text = text
        self.json = json
        self.failed = failed
        self.quit = quit
    }

    static func failure(_ message: String, command: String, error: String = "usage") -> REPLOutput {
        REPLOutput(text: "error: \(message)", json: ["command": .string(command), "ok": .bool(false), "error": .string(message), "class": .string(error)], failed: true)
    }

    /// One line of JSON, keys sorted.
    public var jsonLine: String { JSONValue.object(json).encoded }
}

/// A JSON value, encoded with sorted keys.
public enum JSONValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case integer(Int)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    var any: Any {
        switch self {
        case let .string(s): return s
        case let .number(d): return d
        case let .integer(i): return i
        case let .bool(b): return b
        case let .array(a): return a.map(\.any)
        case let .object(o): return o.mapValues(\.any)
        case .null: return NSNull()
        }
    }

    public var encoded: String {
        let data = try! JSONSerialization.data(withJSONObject: any, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }
}
