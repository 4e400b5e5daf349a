import MindAlphaWire

/// The values of one command line, after environment fallbacks and defaults.
///
/// Accessors take the option's long name; asking for a name the command's spec lacks is a programming error.
public struct ParsedArguments: Sendable {
    /// Where a value came from.
    public enum Source: Sendable, Hashable { case commandLine, environment(String), defaultValue }

    public let spec: CommandSpec
    /// Values by option name; repeatable options keep every value in order.
    var values: [String: [Value]] = [:]
    var sources: [String: Source] = [:]
    /// Positional arguments in order.
    public internal(set) var positionals: [String] = []
    /// `-h`/`--help` was given.
    public internal(set) var helpRequested = false

    init(spec: CommandSpec) { self.spec = spec }

    private func checked(_ name: String) -> [Value] {
        precondition(spec.option(named: name) != nil, "command '\(spec.name)' has no option --\(name)")
        return values[name] ?? []
    }

    /// Whether the option was set on the command line or through its environment variable.
    public func isSet(_ name: String) -> Bool {
        switch source(of: name) {
        case .commandLine?, .environment?: return true
        case .defaultValue?, nil: return false
        }
    }

    /// Where the option's value came from, or `nil` when it has none.
    public func source(of name: String) -> Source? {
        _ = checked(name)
        return sources[name]
    }

    /// Every value given (repeatable options), else the default.
    public func all(_ name: String) -> [Value] { checked(name) }

    /// The last value given, else the default.
    public func value(_ name: String) -> Value? { checked(name).last }

    public func flag(_ name: String) -> Bool {
        if case let .flag(b)? = value(name) { return b }
        return false
    }

    public func string(_ name: String) -> String? {
        if case let .string(s)? = value(name) { return s }
        if case let .choice(s)? = value(name) { return s }
        return nil
    }

    public func strings(_ name: String) -> [String] {
        all(name).compactMap { if case let .string(s) = $0 { return s } else { return nil } }
    }

    public func integer(_ name: String) -> Int? {
        if case let .integer(n)? = value(name) { return n }
        return nil
    }

    public func number(_ name: String) -> Double? {
        if case let .number(x)? = value(name) { return x }
        return nil
    }

    public func duration(_ name: String) -> Duration? {
        if case let .duration(d)? = value(name) { return d }
        return nil
    }

    public func durationRange(_ name: String) -> ClosedRange<Duration>? {
        if case let .durationRange(r)? = value(name) { return r }
        return nil
    }

    public func size(_ name: String) -> Int? {
        if case let .size(n)? = value(name) { return n }
        return nil
    }

    public func rate(_ name: String) -> Double? {
        if case let .rate(x)? = value(name) { return x }
        return nil
    }

    public func hostPorts(_ name: String) -> [HostPort] {
        all(name).compactMap { if case let .hostPort(h) = $0 { return h } else { return nil } }
    }

    public func hostPort(_ name: String) -> HostPort? { hostPorts(name).last }
}
