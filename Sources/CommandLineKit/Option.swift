import MindAlphaWire

/// A typed handle on one option, declared once with its spec: `args[Options.conns]` is an `Int`, with no name to
/// mistype and nothing to cast or unwrap. Made from a spec by the accessor of its kind (`.integer`, `.text`, …),
/// and `.defaulted` when the spec has a default (then the value is always there).
public struct Option<Value>: Sendable {
    public let spec: OptionSpec
    let read: @Sendable (ParsedArguments) -> Value

    init(_ spec: OptionSpec, _ read: @escaping @Sendable (ParsedArguments) -> Value) {
        self.spec = spec
        self.read = read
    }

    /// The option's long name, for rules and messages.
    public var name: String { spec.name }
}

extension Option {
    /// The value, never absent: the spec has a default (checked when the handle is made).
    public func defaulted<Wrapped>() -> Option<Wrapped> where Value == Wrapped? {
        precondition(spec.defaultValue != nil, "--\(spec.name) has no default: read it as optional")
        let read = self.read
        return Option<Wrapped>(spec) { args in read(args)! }
    }
}

extension OptionSpec {
    private func typed<V>(_ matches: Bool, _ what: String, _ read: @escaping @Sendable (ParsedArguments, String) -> V) -> Option<V> {
        precondition(matches, "--\(name) is not \(what)")
        let name = self.name
        return Option(self) { read($0, name) }
    }

    public var flag: Option<Bool> { typed(kind == .flag, "a flag") { $0.flag($1) } }

    /// A string, a path or a choice.
    public var text: Option<String?> {
        typed(!repeatable && [.string, .path].contains(kind) || kind.isChoice, "text") { $0.string($1) }
    }

    /// Every value of a repeatable string option, in order.
    public var texts: Option<[String]> { typed(repeatable && kind == .string, "repeatable text") { $0.strings($1) } }

    public var integer: Option<Int?> { typed(kind.isInteger, "an integer") { $0.integer($1) } }
    public var number: Option<Double?> { typed(kind.isNumber, "a number") { $0.number($1) } }
    public var duration: Option<Duration?> { typed(kind == .duration, "a duration") { $0.duration($1) } }
    public var durationRange: Option<ClosedRange<Duration>?> { typed(kind == .durationRange, "a duration range") { $0.durationRange($1) } }
    public var size: Option<Int?> { typed(kind == .size, "a size") { $0.size($1) } }
    public var rate: Option<Double?> { typed(kind == .rate, "a rate") { $0.rate($1) } }
    public var hostPort: Option<HostPort?> { typed(!repeatable && kind == .hostPort, "one HOST:PORT") { $0.hostPort($1) } }
    public var hostPorts: Option<[HostPort]> { typed(repeatable && kind == .hostPort, "repeatable HOST:PORT") { $0.hostPorts($1) } }
}

extension ValueKind {
    var isChoice: Bool { if case .choice = self { true } else { false } }
    var isInteger: Bool { if case .integer = self { true } else { false } }
    var isNumber: Bool { if case .number = self { true } else { false } }
}

extension ParsedArguments {
    /// The option's value (its last, or every one for a repeatable option), else its default.
    public subscript<V>(_ option: Option<V>) -> V {
        precondition(spec.option(named: option.name) == option.spec, "command '\(spec.name)' has another --\(option.name)")
        return option.read(self)
    }

    /// Whether the option was set on the command line or through its environment variable.
    public func isSet<V>(_ option: Option<V>) -> Bool { isSet(option.name) }

    /// Where the option's value came from, or `nil` when it has none.
    public func source<V>(of option: Option<V>) -> Source? { source(of: option.name) }
}
