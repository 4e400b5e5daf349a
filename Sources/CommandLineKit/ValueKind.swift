import MindAlphaWire

/// The type of an option's value, which decides how it is parsed, described and completed.
public enum ValueKind: Sendable, Hashable {
    /// No value: present or not.
    case flag
    /// Any text.
    case string
    /// A file path (completed as one).
    case path
    /// A whole number within bounds.
    case integer(ClosedRange<Int>)
    /// A decimal number within bounds, e.g. a probability `0...1`.
    case number(ClosedRange<Double>)
    /// A duration in Go's syntax (as Consul and the Go client write them): `250ms`, `10s`, `1m30s`, `1.5h`, `500us`.
    case duration
    /// A duration or a range of durations: `2ms`, `1ms..5ms`.
    case durationRange
    /// A byte size: `64`, `4KiB`, `1MiB`, `2GiB`, `10kB`, `1k` (k and M are 1,000 and 1,000,000, as for rates).
    case size
    /// A rate per second: `5000`, `5k`, `1.5M`.
    case rate
    /// `HOST:PORT`, IPv6 in brackets.
    case hostPort
    /// One of a fixed set of words.
    case choice([String])

    /// The placeholder shown in usage and help.
    public var placeholder: String {
        switch self {
        case .flag: return ""
        case .string: return "TEXT"
        case .path: return "FILE"
        case .integer: return "N"
        case .number: return "X"
        case .duration: return "DURATION"
        case .durationRange: return "DURATION[..DURATION]"
        case .size: return "SIZE"
        case .rate: return "RATE"
        case .hostPort: return "HOST:PORT"
        case let .choice(words): return words.joined(separator: "|")
        }
    }

    /// What a valid value looks like, for error messages.
    public var expectation: String {
        switch self {
        case .flag: return "true or false"
        case .string, .path: return "a value"
        case let .integer(r): return "a whole number from \(r.lowerBound) to \(r.upperBound)"
        case let .number(r): return "a number from \(formatNumber(r.lowerBound)) to \(formatNumber(r.upperBound))"
        case .duration: return "a duration (e.g. 250ms, 2s, 1m30s)"
        case .durationRange: return "a duration or a range (e.g. 2ms, 1ms..5ms)"
        case .size: return "a size (e.g. 64, 1k, 4KiB, 1MiB)"
        case .rate: return "a rate per second (e.g. 5000, 5k)"
        case .hostPort: return "HOST:PORT (IPv6 as [::1]:PORT)"
        case let .choice(words): return "one of " + words.joined(separator: ", ")
        }
    }

    /// Parses `text`, or returns `nil` when it is not a value of this kind.
    public func parse(_ text: String) -> Value? {
        switch self {
        case .flag:
            switch text.lowercased() {
            case "1", "true", "yes", "on": return .flag(true)
            case "0", "false", "no", "off", "": return .flag(false)
            default: return nil
            }
        case .string, .path:
            return .string(text)
        case let .integer(range):
            guard let n = Int(text.filter { $0 != "_" }), range.contains(n) else { return nil }
            return .integer(n)
        case let .number(range):
            guard let x = Double(text), x.isFinite, range.contains(x) else { return nil }
            return .number(x)
        case .duration:
            return Self.parseDuration(text).map(Value.duration)
        case .durationRange:
            let parts = text.split(separator: "..", omittingEmptySubsequences: false).map(String.init)
            guard parts.count <= 2, let low = Self.parseDuration(parts[0]) else { return nil }
            guard parts.count == 2 else { return .durationRange(low...low) }
            guard let high = Self.parseDuration(parts[1]), low <= high else { return nil }
            return .durationRange(low...high)
        case .size:
            return Self.parseScaled(text, units: Self.sizeUnits).flatMap { x in
                x <= Double(Int.max / 2) && x == x.rounded() ? Value.size(Int(x)) : nil
            }
        case .rate:
            let trimmed = text.hasSuffix("/s") ? String(text.dropLast(2)) : text
            return Self.parseScaled(trimmed, units: Self.rateUnits).map(Value.rate)
        case .hostPort:
            return HostPort(parsing: text).map(Value.hostPort)
        case let .choice(words):
            return words.contains(text) ? .choice(text) : nil
        }
    }

    static let durationUnits: [(String, Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ]
    static let sizeUnits: [(String, Double)] = [
        ("", 1), ("B", 1), ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824),
        ("kB", 1e3), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9),
    ]
    static let rateUnits: [(String, Double)] = [("", 1), ("k", 1e3), ("K", 1e3), ("M", 1e6)]

    /// The longest duration Go (and so Consul) can hold: 2^63 − 1 ns, about 2562047h.
    static let maxDurationNanoseconds = 9.223_372_036_854_775e18

    /// `0` alone, or Go's syntax: one or more non-negative decimals, each with a unit (`1h2m3.5s`).
    static func parseDuration(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        guard let nanos = durationNanoseconds(text), nanos < maxDurationNanoseconds else { return nil }
        return .nanoseconds(Int64(nanos.rounded()))
    }

    /// The nanoseconds a duration in Go's syntax stands for, however large; `nil` when it is not one.
    static func durationNanoseconds(_ text: String) -> Double? {
        var rest = Substring(text)
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            rest = rest.dropFirst(unit.count)
            guard !digits.isEmpty, let number = Double(digits), number.isFinite,
                  let scale = durationUnits.first(where: { $0.0 == unit })?.1
            else { return nil }
            total += number * scale
        }
        return total
    }

    /// Why `text` is not a value of this kind, when more can be said than what a value looks like.
    public func rejection(of text: String) -> String? {
        switch self {
        case .duration, .durationRange:
            for part in text.split(separator: "..").map(String.init) {
                if let nanos = Self.durationNanoseconds(part), nanos >= Self.maxDurationNanoseconds {
                    return "'\(part)' is too large: a duration goes up to 2562047h"
                }
            }
            return nil
        default:
            return nil
        }
    }

    /// A non-negative decimal followed by one of `units` (the longest that matches); `nil` otherwise.
    static func parseScaled(_ text: String, units: [(String, Double)], unitRequired: Bool = false) -> Double? {
        let digits = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = String(text.dropFirst(digits.count))
        guard !digits.isEmpty, !(unitRequired && unit.isEmpty),
              let number = Double(digits), number.isFinite,
              let scale = units.first(where: { $0.0 == unit })?.1
        else { return nil }
        return number * scale
    }
}

func formatNumber(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
}
