/// Why a buffer is not a valid FlatBuffer of the expected schema. Reading never traps.
///
/// Cheap to throw (no text is built until ``description`` is read), so a server may try every body.
public enum FlatBufferError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A read of `width` bytes at `position` falls outside the `size`-byte buffer.
    case outOfBounds(position: Int, width: Int, size: Int)
    /// A vtable that is too small, odd-sized or past the end.
    case invalidVtable(position: Int, vtableSize: Int)
    /// A table whose inline size runs past the end.
    case invalidTable(position: Int, objectSize: Int)
    /// A field whose vtable entry points outside its table.
    case fieldOutsideTable(table: Int, slot: Int)
    /// A vector whose elements run past the end.
    case vectorTooLong(position: Int, count: Int)
    /// A string that is not valid UTF-8.
    case invalidUTF8(position: Int)
    /// Offsets that alias the same data more often than the buffer's size allows.
    case tooManyAliases

    public var description: String {
        let reason: String
        switch self {
        case let .outOfBounds(p, w, s): reason = "\(w)-byte read at \(p) is outside the \(s)-byte buffer"
        case let .invalidVtable(p, s): reason = "vtable at \(p) of size \(s) is invalid"
        case let .invalidTable(p, s): reason = "table at \(p) of size \(s) runs past the end"
        case let .fieldOutsideTable(t, slot): reason = "field \(slot) of the table at \(t) lies outside the table"
        case let .vectorTooLong(p, n): reason = "vector at \(p) of \(n) elements runs past the end"
        case let .invalidUTF8(p): reason = "string at \(p) is not valid UTF-8"
        case .tooManyAliases: reason = "offsets alias the same data more often than the buffer's size allows"
        }
        return "malformed FlatBuffer: \(reason)"
    }
}
