/// Go's `time.ParseDuration`, which Consul uses for `wait`, `TTL`, `Interval`, `Timeout`:
/// a sequence of decimal numbers with units (`300ms`, `1h30m`, `2.5s`), `0` alone allowed.
enum GoDuration {
    static func parse(_ text: String) -> Duration? {
        var rest = Substring(text)
        var negative = false
        if rest.first == "+" || rest.first == "-" {
            negative = rest.first == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return .zero }
        guard !rest.isEmpty else { return nil }
        var nanos = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs", "μs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            default: return nil
            }
            nanos += value * scale
        }
        guard nanos < 9.2e18 else { return nil }
        return .nanoseconds(Int64(negative ? -nanos : nanos))
    }

    /// As Go's `Duration.String()` writes it for whole seconds and milliseconds: `15s`, `1m30s`, `500ms`.
    static func format(_ d: Duration) -> String {
        let (s, atto) = d.components
        if atto == 0, s % 60 == 0, s >= 60 { return s % 3600 == 0 ? "\(s / 3600)h0m0s" : "\(s / 60)m0s" }
        if atto == 0 { return s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s" }
        return "\(s * 1000 + atto / 1_000_000_000_000_000)ms"
    }
}
