/// A minimal FlatBuffers builder for the tables this protocol needs.
///
/// It follows the reference builders: the buffer is built back to front (children before parents, so every
/// `uoffset` points forward), scalars equal to their default are left out, and identical vtables are shared.
/// Bytes are kept reversed while building, so appending stays amortised O(1); ``finish(root:)`` turns them round.
public struct FlatBufferBuilder {
    /// A position in the buffer, counted from its end (as the reference builders do).
    public struct Offset: Hashable, Sendable {
        @usableFromInline var value: Int
        @usableFromInline init(_ value: Int) { self.value = value }
    }

    /// The bytes built so far, last byte first.
    @usableFromInline var reversed: [UInt8] = []
    @usableFromInline var minAlign = 1
    /// Field slots of the table being built: the field's offset, or 0 when absent.
    @usableFromInline var fields: [Int] = []
    @usableFromInline var tableStart = 0
    @usableFromInline var inTable = false
    /// Written vtables: offset and content, for de-duplication.
    @usableFromInline var vtables: [(offset: Int, entries: [UInt16])] = []

    public init(capacity: Int = 1024) { reversed.reserveCapacity(capacity) }

    /// Bytes written so far.
    @inlinable public var size: Int { reversed.count }

    @inlinable
    mutating func pad(_ n: Int) {
        for _ in 0..<n { reversed.append(0) }
    }

    /// Aligns so that after `additional` more bytes the position is a multiple of `alignment`.
    @inlinable
    mutating func prep(_ alignment: Int, _ additional: Int) {
        if alignment > minAlign { minAlign = alignment }
        let padding = (~(reversed.count + additional) &+ 1) & (alignment - 1)
        pad(padding)
    }

    @inlinable
    mutating func put<T: FixedWidthInteger>(_ value: T) {
        let le = value.littleEndian
        withUnsafeBytes(of: le) { raw in
            for i in stride(from: raw.count - 1, through: 0, by: -1) { reversed.append(raw[i]) }
        }
    }

    @inlinable
    mutating func push<T: FixedWidthInteger>(_ value: T) {
        prep(MemoryLayout<T>.size, 0)
        put(value)
    }

    @inlinable
    mutating func pushOffset(_ target: Offset) {
        prep(4, 0)
        precondition(target.value <= size, "offset must refer to something already built")
        put(UInt32(size - target.value + 4))
    }

    /// Writes a string (length, UTF-8 bytes, NUL).
    public mutating func createString(_ string: String) -> Offset {
        precondition(!inTable, "createString inside a table")
        var s = string
        return s.withUTF8 { bytes in
            prep(4, bytes.count + 1)
            reversed.append(0)
            for i in stride(from: bytes.count - 1, through: 0, by: -1) { reversed.append(bytes[i]) }
            put(UInt32(bytes.count))
            return Offset(size)
        }
    }

    /// Writes a vector of scalars.
    public mutating func createVector<T: FixedWidthInteger>(_ elements: [T]) -> Offset {
        precondition(!inTable, "createVector inside a table")
        let width = MemoryLayout<T>.size
        prep(4, width * elements.count)
        prep(width, width * elements.count)
        for e in elements.reversed() { put(e) }
        put(UInt32(elements.count))
        return Offset(size)
    }

    /// Writes a vector of `Float`s.
    public mutating func createVector(_ elements: [Float]) -> Offset {
        createVector(elements.map { $0.bitPattern })  // a closure: a key path is projected at run time
    }

    /// Writes a vector of offsets to tables or strings built earlier.
    public mutating func createVector(_ elements: [Offset]) -> Offset {
        precondition(!inTable, "createVector inside a table")
        prep(4, 4 * elements.count)
        for e in elements.reversed() { pushOffset(e) }
        put(UInt32(elements.count))
        return Offset(size)
    }

    /// Starts a table with `fieldCount` slots.
    public mutating func startTable(fieldCount: Int) {
        precondition(!inTable, "tables cannot nest; build children first")
        fields = Array(repeating: 0, count: fieldCount)
        tableStart = size
        inTable = true
    }

    /// Adds a scalar field, left out when it equals the default (0), as the Go builder does.
    public mutating func add<T: FixedWidthInteger>(_ value: T, slot: Int) {
        guard value != 0 else { return }
        push(value)
        fields[slot] = size
    }

    /// Adds a field referring to a table, vector or string.
    public mutating func add(_ offset: Offset, slot: Int) {
        pushOffset(offset)
        fields[slot] = size
    }

    /// Ends the table, writing (or sharing) its vtable.
    public mutating func endTable() -> Offset {
        precondition(inTable, "endTable without startTable")
        push(Int32(0))  // soffset to the vtable, patched below
        let object = size
        var count = fields.count
        while count > 0 && fields[count - 1] == 0 { count -= 1 }
        var entries = [UInt16(4 + 2 * count), UInt16(object - tableStart)]
        for slot in 0..<count {
            entries.append(fields[slot] == 0 ? 0 : UInt16(object - fields[slot]))
        }
        let vtable: Int
        if let existing = vtables.first(where: { $0.entries == entries }) {
            vtable = existing.offset
        } else {
            for e in entries.reversed() { put(e) }
            vtable = size
            vtables.append((vtable, entries))
        }
        // soffset = table position − vtable position, in forward coordinates.
        let soffset = Int32(vtable - object)
        withUnsafeBytes(of: soffset.littleEndian) { raw in
            for k in 0..<4 { reversed[object - 1 - k] = raw[k] }
        }
        inTable = false
        return Offset(object)
    }

    /// Writes the root offset and returns the finished buffer (no size prefix, no file identifier).
    public mutating func finish(root: Offset) -> [UInt8] {
        precondition(!inTable, "finish inside a table")
        prep(minAlign, 4)
        pushOffset(root)
        return Array(reversed.reversed())
    }
}
