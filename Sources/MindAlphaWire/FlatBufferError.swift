/// Why a buffer is not a valid FlatBuffer of the expected schema. Reading never traps.
public struct FlatBufferError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong, e.g. "vector at 96 runs past the end of the 80-byte buffer".
    public var reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { "malformed FlatBuffer: \(reason)" }
}
