/// A command line that cannot be run; the message names what was wrong (exit 64).
public struct UsageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// One line: what was wrong and, where possible, what to write instead.
    public var message: String
    /// The command the error is about (for its usage line), if known.
    public var command: String?

    public init(_ message: String, command: String? = nil) {
        self.message = message
        self.command = command
    }

    public var description: String { message }

    static func unknownOption(_ written: String, candidates: [String], command: String) -> UsageError {
        var message = "unknown option '\(written)'"
        if let best = closest(to: written, among: candidates) { message += "; did you mean '\(best)'?" }
        return UsageError(message, command: command)
    }

    static func invalidValue(_ option: String, _ text: String, _ kind: ValueKind, from source: String? = nil, command: String) -> UsageError {
        var message = kind.rejection(of: text).map { "\(option): \($0)" } ?? "\(option): '\(text)' is not \(kind.expectation)"
        if case let .choice(words) = kind, let best = closest(to: text, among: words) {
            message += "; did you mean '\(best)'?"
        }
        if let source { message += " (from \(source))" }
        return UsageError(message, command: command)
    }
}

/// The closest candidate by edit distance, if it is close enough to be a plausible typo or a prefix.
public func closest(to word: String, among candidates: [String]) -> String? {
    let scored = candidates.map { candidate -> (String, Int) in
        // A typed prefix of a long name is a good guess too (`--con` → `--conns`).
        let d = candidate.hasPrefix(word) && word.count >= 3 ? 1 : editDistance(word, candidate)
        return (candidate, d)
    }
    guard let best = scored.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }) else { return nil }
    return best.1 <= max(2, word.count / 3) ? best.0 : nil
}

/// Levenshtein distance over characters.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
