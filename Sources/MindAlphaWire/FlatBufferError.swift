/// Why a buffer is not a valid FlatBuffer of the expected schema. Reading never traps.
///
/// Cheap to throw (no text is built until ``description`` is read), so a server may try every body. A struct over
/// a private code, so that new checks can be added without breaking callers.
public struct FlatBufferError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: Hashable, Sendable {
        case outOfBounds(position: Int, width: Int, size: Int)
        case invalidVtable(position: Int, vtableSize: Int)
        case invalidTable(position: Int, objectSize: Int)
        case fieldOutsideTable(table: Int, slot: Int)
        case vectorTooLong(position: Int, count: Int)
        case invalidUTF8(position: Int)
        case tooManyAliases
    }

    let code: Code

    private init(_ code: Code) { self.code = code }

    /// A read of `width` bytes at `position` falls outside the `size`-byte buffer.
    public static func outOfBounds(position: Int, width: Int, size: Int) -> Self { Self(.outOfBounds(position: position, width: width, size: size)) }
    /// A vtable that is too small, odd-sized or past the end.
    public static func invalidVtable(position: Int, vtableSize: Int) -> Self { Self(.invalidVtable(position: position, vtableSize: vtableSize)) }
    /// A table whose inline size runs past the end.
    public static func invalidTable(position: Int, objectSize: Int) -> Self { Self(.invalidTable(position: position, objectSize: objectSize)) }
    /// A field whose vtable entry points outside its table.
    public static func fieldOutsideTable(table: Int, slot: Int) -> Self { Self(.fieldOutsideTable(table: table, slot: slot)) }
    /// A vector whose elements run past the end.
    public static func vectorTooLong(position: Int, count: Int) -> Self { Self(.vectorTooLong(position: position, count: count)) }
    /// A string that is not valid UTF-8.
    public static func invalidUTF8(position: Int) -> Self { Self(.invalidUTF8(position: position)) }
    /// Offsets that alias the same data more often than the buffer's size allows.
    public static let tooManyAliases = Self(.tooManyAliases)

    public var description: String {
        let reason: String
        switch code {
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
