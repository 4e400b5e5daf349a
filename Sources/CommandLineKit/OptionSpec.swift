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

    public init(
        _ name: String, short: Character? = nil, _ kind: ValueKind, help: String,
        default defaultValue: String? = nil, environment: String? = nil, repeatable: Bool = false, valueName: String? = nil
    ) {
        self.name = name
        self.short = short
        self.kind = kind
        self.help = help
        self.defaultValue = defaultValue
        self.environment = environment
        self.repeatable = repeatable
        self.valueName = valueName
    }

    /// `--name` and, if any, `-s`.
    public var displayName: String { "--\(name)" }

    /// The placeholder for the value (empty for flags).
    public var placeholder: String { kind == .flag ? "" : (valueName ?? kind.placeholder) }
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

    public init(
        name: String, summary: String, discussion: String = "", usage: String? = nil,
        options: [OptionSpec], positionals: [PositionalSpec] = [], examples: [String] = []
    ) {
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

/// The whole program: its name, version and commands.
public struct ProgramSpec: Sendable {
    public var name: String
    public var version: String
    public var summary: String
    public var commands: [CommandSpec]
    /// Text after the command list in the top-level help (exit codes, environment).
    public var epilogue: String

    public init(name: String, version: String, summary: String, commands: [CommandSpec], epilogue: String = "") {
        self.name = name
        self.version = version
        self.summary = summary
        self.commands = commands
        self.epilogue = epilogue
    }

    public func command(named name: String) -> CommandSpec? { commands.first { $0.name == name } }
}
