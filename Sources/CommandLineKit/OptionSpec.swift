/// One option of a command: everything parsing, help, completions and the man page need.
public struct OptionSpec: Sendable, Hashable {
    /// The long name, without dashes: `conns` for `--conns`.
    public var name: String
    /// The short name, without the dash: `c` for `-c`.
    public var short: Character?
    public var kind: ValueKind
    /// One sentence for `--help`.
    public var help: String
    /// The default, written as a user would write it (`64`, `1s`); parsed like user input.
    public var defaultValue: String?
    /// An environment variable read when the option is not given.
    public var environment: String?
    /// Whether it may be given more than once (values accumulate).
    public var repeatable: Bool
    /// The placeholder in usage and help; defaults to the kind's.
    public var valueName: String?
    /// The default in words, when it is worked out at run time (`one per connection`); shown as a default.
    public var defaultDescription: String?
    /// Environment variables the command reads itself for this option (`CONSUL_HTTP_SSL` beside `--consul`).
    public var environmentAlso: [String]
    /// The program's own arguments that print this option's possible values, one per line
    /// (`discover --list-services`); completion scripts run them.
    public var valuesCommand: [String]?

    public init(
        _ name: String, short: Character? = nil, _ kind: ValueKind, help: String,
        default defaultValue: String? = nil, defaultDescription: String? = nil,
        environment: String? = nil, environmentAlso: [String] = [],
        repeatable: Bool = false, valueName: String? = nil, valuesCommand: [String]? = nil
    ) {
        self.name = name
        self.short = short
        self.kind = kind
        self.help = help
        self.defaultValue = defaultValue
        self.defaultDescription = defaultDescription
        self.environment = environment
        self.environmentAlso = environmentAlso
        self.repeatable = repeatable
        self.valueName = valueName
        self.valuesCommand = valuesCommand
    }

    /// `--name` and, if any, `-s`.
    public var displayName: String { "--\(name)" }

    /// The placeholder for the value (empty for flags).
    public var placeholder: String { kind == .flag ? "" : (valueName ?? kind.placeholder) }

    /// Every environment variable behind this option: the one parsed, then those the command reads.
    public var environmentNames: [String] { (environment.map { [$0] } ?? []) + environmentAlso }

    /// What `--help` and the man page say after the help sentence, in one format everywhere:
    /// `[repeatable] [default: 30] [env: MINDALPHA_SERVICE]`.
    public var annotations: [String] {
        var out: [String] = []
        if repeatable { out.append("[repeatable]") }
        if let d = defaultValue ?? defaultDescription { out.append("[default: \(d)]") }
        if !environmentNames.isEmpty { out.append("[env: \(environmentNames.joined(separator: ", "))]") }
        return out
    }
}

/// A positional argument.
public struct PositionalSpec: Sendable, Hashable {
    public var name: String
    public var help: String
    public var kind: ValueKind
    public var optional: Bool
    /// Takes every remaining argument.
    public var variadic: Bool

    public init(_ name: String, _ kind: ValueKind = .string, help: String, optional: Bool = false, variadic: Bool = false) {
        self.name = name
        self.kind = kind
        self.help = help
        self.optional = optional
        self.variadic = variadic
    }
}

/// One subcommand: its name, what it does, its options and positionals.
public struct CommandSpec: Sendable {
    public var name: String
    /// One line, for the command list and the man page.
    public var summary: String
    /// Paragraphs after the options in `--help`.
    public var discussion: String
    /// Overrides the generated usage line (after the program and command name).
    public var usage: String?
    public var options: [OptionSpec]
    public var positionals: [PositionalSpec]
    /// Example command lines, shown in help.
    public var examples: [String]
    /// Which options exclude or need which (checked by the parser, said by help).
    public var rules: [OptionRule]

    public init(
        name: String, summary: String, discussion: String = "", usage: String? = nil,
        options: [OptionSpec], positionals: [PositionalSpec] = [], rules: [OptionRule] = [], examples: [String] = []
    ) {
        precondition(rules.allSatisfy { $0.names.allSatisfy { n in options.contains { $0.name == n } } },
                     "a rule of '\(name)' names an option it does not have")
        self.rules = rules
        self.name = name
        self.summary = summary
        self.discussion = discussion
        self.usage = usage
        self.options = options
        self.positionals = positionals
        self.examples = examples
    }

    /// The option with long name `name`.
    public func option(named name: String) -> OptionSpec? { options.first { $0.name == name } }
}

/// A term and what it means: an environment variable, an exit code, a file.
public struct Definition: Sendable {
    public var term: String
    public var text: String

    public init(_ term: String, _ text: String) {
        self.term = term
        self.text = text
    }
}

/// The whole program: its name, version, commands, and what its manual says beyond them.
public struct ProgramSpec: Sendable {
    public var name: String
    public var version: String
    /// The date of this version, for the man page (`YYYY-MM-DD`).
    public var date: String
    public var summary: String
    /// Paragraphs for the man page's DESCRIPTION.
    public var description: String
    public var commands: [CommandSpec]
    /// Every environment variable the program reads.
    public var environment: [Definition]
    /// Every exit code, as `0`, `1`, …
    public var exitStatus: [Definition]
    public var files: [Definition]
    /// Worked examples: what it does (the term), then the command lines.
    public var examples: [Definition]
    /// Related manual pages, as `consul(1)`.
    public var seeAlso: [String]

    public init(
        name: String, version: String, date: String = "", summary: String, description: String = "", commands: [CommandSpec],
        environment: [Definition] = [], exitStatus: [Definition] = [], files: [Definition] = [],
        examples: [Definition] = [], seeAlso: [String] = []
    ) {
        self.name = name
        self.version = version
        self.date = date
        self.summary = summary
        self.description = description
        self.commands = commands
        self.environment = environment
        self.exitStatus = exitStatus
        self.files = files
        self.examples = examples
        self.seeAlso = seeAlso
    }

    public func command(named name: String) -> CommandSpec? { commands.first { $0.name == name } }
}
