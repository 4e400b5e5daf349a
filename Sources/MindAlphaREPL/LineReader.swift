/// Where the REPL's lines come from: GNU readline at a terminal, a pipe or a file otherwise, a list in tests.
public protocol LineReader: AnyObject {
    /// The next line without its newline; `nil` at end of input (Ctrl-D).
    func readLine(prompt: String) async -> String?
    /// Whether a person is typing (prompts, progress and colours only then).
    var isInteractive: Bool { get }
}

/// Lines from a list, as from a script.
public final class ListReader: LineReader {
    private var lines: [String]
    public let isInteractive = false

    public init(_ lines: [String]) { self.lines = lines }

    public func readLine(prompt: String) async -> String? {
        lines.isEmpty ? nil : lines.removeFirst()
    }
}

/// Lines from standard input when it is not a terminal: no prompt, no editing.
public final class StandardInputReader: LineReader {
    public let isInteractive = false

    public init() {}

    public func readLine(prompt: String) async -> String? {
        Swift.readLine(strippingNewline: true)
    }
}
