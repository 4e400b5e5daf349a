import MindAlphaWire

/// A parsed option value.
public enum Value: Sendable, Hashable {
    case flag(Bool)
    case string(String)
    case integer(Int)
    case number(Double)
    case duration(Duration)
    case durationRange(ClosedRange<Duration>)
    case size(Int)
    case rate(Double)
    case hostPort(HostPort)
    case choice(String)
}
