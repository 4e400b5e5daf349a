/// A rule between a command's options, stated in its spec: the parser enforces it for what the command line gives
/// (a value from the environment or a default never breaks one), and `--help`, the man page and the zsh completion
/// say it, all in the same words.
public enum OptionRule: Sendable, Hashable {
    /// At most one of these options (long names) may be given; `why` says what they have in common.
    case oneOf([String], why: String? = nil)
    /// `option` needs one of `others` given with it; `why` says what for.
    case requires(String, anyOf: [String], why: String? = nil)
    /// `option` goes with none of `others` (which may go together).
    case excludes(String, [String], why: String? = nil)

    /// The rule in words, as help prints it and as the error says when it is broken.
    public var text: String {
        switch self {
        case let .oneOf(names, why):
            let options = names.map { "--" + $0 }
            let list = options.count == 2 ? "\(options[0]) or \(options[1])" : options.dropLast().joined(separator: ", ") + " or " + options.last!
            return "give \(list), not \(options.count == 2 ? "both" : "several")" + (why.map { ": \($0)" } ?? "")
        case let .requires(option, others, why):
            return "--\(option) needs " + others.map { "--" + $0 }.joined(separator: " or ") + (why.map { " (\($0))" } ?? "")
        case let .excludes(option, others, why):
            let list = others.map { "--" + $0 }
            let words = list.count == 1 ? list[0] : list.dropLast().joined(separator: ", ") + " or " + list.last!
            return "--\(option) goes without \(words)" + (why.map { ": \($0)" } ?? "")
        }
    }

    /// The options this rule names.
    var names: [String] {
        switch self {
        case let .oneOf(names, _): return names
        case let .requires(option, others, _), let .excludes(option, others, _): return [option] + others
        }
    }

    /// The options that cannot go with `option` under this rule.
    public func excluded(by option: String) -> [String] {
        switch self {
        case let .oneOf(names, _) where names.contains(option): return names.filter { $0 != option }
        case let .excludes(first, others, _) where first == option: return others
        case let .excludes(first, others, _) where others.contains(option): return [first]
        default: return []
        }
    }

    /// Throws the rule's own words when `given` (the options the command line gave) breaks it.
    func check(_ given: Set<String>, command: String) throws(UsageError) {
        switch self {
        case let .oneOf(names, _):
            if names.filter(given.contains).count > 1 { throw UsageError(text, command: command) }
        case let .requires(option, others, _):
            if given.contains(option), !others.contains(where: given.contains) { throw UsageError(text, command: command) }
        case let .excludes(option, others, _):
            if given.contains(option), others.contains(where: given.contains) { throw UsageError(text, command: command) }
        }
    }
}
