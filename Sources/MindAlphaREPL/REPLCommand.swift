import CommandLineKit
import Foundation

/// One line of the REPL, parsed: what to do, checked before anything is sent. Pure (no I/O: a `send @file` names
/// the file, which is read when the command runs).
public indirect enum REPLCommand: Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        case text(String)
        case bytes([UInt8])
        case file(String)
    }

    case send(Body)
    case predict(model: String, columns: [Column], level: Int)
    /// `nil`: back to weighted round robin (`use any`).
    case use(String?)
    case instances
    case pool
    case stats
    case `repeat`(Int, REPLCommand)
    /// `nil`: show it.
    case timeout(Duration?)
    case output(json: Bool)
    case help(String?)
    case quit

    public struct Column: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The commands, for `help` and completion: name, usage, what it does.
    public static let table: [(name: String, usage: String, help: String)] = [
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

    /// What was wrong with a line: the command word it was about, and the message.
    public struct ParseError: Error, Sendable, Equatable {
        public var command: String
        public var message: String
    }

    /// The command a line asks for; `nil` for a blank line or a `#` comment.
    public static func parse(_ line: String) -> Result<REPLCommand, ParseError>? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return nil }
        let (word, rest) = split(trimmed)
        func fail(_ message: String, _ command: String = word) -> Result<REPLCommand, ParseError> {
            .failure(ParseError(command: command, message: message))
        }
        switch word.lowercased() {
        case "send":
            if rest.isEmpty { return fail("send needs a body: send <text>, send hex <bytes> or send @<file>") }
            let (first, afterFirst) = split(rest)
            if first == "hex" {
                guard let bytes = parseHexBytes(afterFirst), !afterFirst.isEmpty else {
                    return fail("'\(afterFirst)' is not hex bytes (e.g. send hex 0a 1b 2c)")
                }
                return .success(.send(.bytes(bytes)))
            }
            if rest.hasPrefix("@") { return .success(.send(.file(String(rest.dropFirst())))) }
            return .success(.send(.text(rest)))
        case "predict":
            return parsePredict(rest).mapError { ParseError(command: "predict", message: $0.message) }
        case "use":
            guard !rest.isEmpty else { return fail("use <instance> or use any") }
            return .success(.use(rest == "any" ? nil : rest))
        case "instances": return .success(.instances)
        case "pool": return .success(.pool)
        case "stats": return .success(.stats)
        case "repeat":
            let (count, command) = split(rest)
            guard let n = Int(count), n >= 1, n <= 1_000_000, !command.isEmpty else {
                return fail("repeat <N> <command>, N from 1 to 1,000,000", "repeat")
            }
            guard !command.lowercased().hasPrefix("repeat") else { return fail("repeat cannot repeat itself", "repeat") }
            switch parse(command) {
            case let .success(inner)?: return .success(.repeat(n, inner))
            case let .failure(error)?: return .failure(error)
            case nil: return fail("repeat <N> <command>, N from 1 to 1,000,000", "repeat")
            }
        case "timeout":
            if rest.isEmpty { return .success(.timeout(nil)) }
            guard case let .duration(d)? = ValueKind.duration.parse(rest), d > .zero else {
                return fail("'\(rest)' is not a duration (e.g. 500ms, 2s)", "timeout")
            }
            return .success(.timeout(d))
        case "set":
            let words = rest.split(separator: " ").map(String.init)
            guard words.count == 2, words[0] == "output", ["json", "text"].contains(words[1]) else {
                return fail("set output json|text", "set")
            }
            return .success(.output(json: words[1] == "json"))
        case "help", "?":
            guard !rest.isEmpty else { return .success(.help(nil)) }
            guard table.contains(where: { $0.name == rest }) else {
                let suggestion = closest(to: rest, among: table.map(\.name)).map { " — did you mean '\($0)'?" } ?? ""
                return fail("no command '\(rest)'\(suggestion)", "help")
            }
            return .success(.help(rest))
        case "quit", "exit":
            return .success(.quit)
        default:
            let suggestion = closest(to: word, among: table.map(\.name)).map { " — did you mean '\($0)'?" } ?? ""
            return fail("unknown command '\(word)'\(suggestion) (help lists them)")
        }
    }

    private static func parsePredict(_ rest: String) -> Result<REPLCommand, ParseError> {
        func fail(_ message: String) -> Result<REPLCommand, ParseError> { .failure(ParseError(command: "predict", message: message)) }
        let words = rest.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let model = words.first, !model.contains("=") else {
            return fail("predict needs a model and columns: predict <model> col=value [col=value …] [level=N]")
        }
        var level = 2
        var columns: [Column] = []
        for word in words.dropFirst() {
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { return fail("'\(word)' is not col=value") }
            if parts[0] == "level" {
                guard let n = Int(parts[1]), (0..<3).contains(n) else { return fail("level must be 0, 1 or 2") }
                level = n
            } else {
                columns.append(Column(name: parts[0], value: parts[1]))
            }
        }
        guard !columns.isEmpty else { return fail("predict needs at least one col=value") }
        return .success(.predict(model: model, columns: columns, level: level))
    }

    /// The first word and the rest, trimmed.
    static func split(_ text: String) -> (String, String) {
        guard let space = text.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return (text, "") }
        return (String(text[..<space]), String(text[space...]).trimmingCharacters(in: .whitespaces))
    }
}
