import NIOCore

/// A bounds-checked FlatBuffers reader over a `ByteBuffer`'s readable bytes.
///
/// Every access checks its bounds and throws ``FlatBufferError``; nothing traps on malformed input. A work
/// budget (one unit per table and vector element, at most the buffer's byte count) stops buffers whose
/// offsets alias the same data many times from costing more than a legitimate buffer of that size.
public struct FlatBufferReader {
    /// A table's position and its vtable's.
    public struct Table {
        let position: Int
        let vtable: Int
        let vtableSize: Int
        let objectSize: Int
    }

    let buffer: ByteBuffer
    let base: Int
    /// The readable size of the buffer.
    public let count: Int
    var budget: Int

    public init(_ buffer: ByteBuffer) {
        self.buffer = buffer
        self.base = buffer.readerIndex
        self.count = buffer.readableBytes
        self.budget = buffer.readableBytes
    }

    /// The little-endian `UInt64` at `position`: ``integer(at:as:)`` for callers in other modules, where the generic
    /// one would not be specialised (a call through its witness tables per element).
    public func uint64(at position: Int) throws(FlatBufferError) -> UInt64 { try integer(at: position, as: UInt64.self) }

    /// A `UInt64` scalar field (absent: 0), as ``uint64(at:)`` is to ``integer(at:as:)``.
    public func uint64(_ table: Table, slot: Int) throws(FlatBufferError) -> UInt64 { try scalar(table, slot: slot, as: UInt64.self) }

    func integer<T: FixedWidthInteger>(at position: Int, as: T.Type = T.self) throws(FlatBufferError) -> T {
        guard position >= 0, position <= count - MemoryLayout<T>.size,
              let v = buffer.getInteger(at: base + position, endianness: .little, as: T.self)
        else {
            throw .outOfBounds(position: position, width: MemoryLayout<T>.size, size: count)
        }
        return v
    }

    mutating func spend(_ units: Int) throws(FlatBufferError) {
        budget -= units
        if budget < 0 { throw .tooManyAliases }
    }

    /// The root table.
    public mutating func root() throws(FlatBufferError) -> Table {
        guard count >= 8 else { throw .outOfBounds(position: 0, width: 8, size: count) }
        return try table(at: Int(try integer(at: 0, as: UInt32.self)))
    }

    /// The table at `position`, with its vtable checked.

    public mutating func table(at position: Int) throws(FlatBufferError) -> Table {
        try spend(1)
        let soffset = Int(try integer(at: position, as: Int32.self))
        let vtable = position - soffset
        let vtableSize = Int(try integer(at: vtable, as: UInt16.self))
        let objectSize = Int(try integer(at: vtable + 2, as: UInt16.self))
        guard vtableSize >= 4, vtableSize % 2 == 0, vtable + vtableSize <= count else {
            throw .invalidVtable(position: vtable, vtableSize: vtableSize)
        }
        guard objectSize >= 4, position + objectSize <= count else {
            throw .invalidTable(position: position, objectSize: objectSize)
        }
        return Table(position: position, vtable: vtable, vtableSize: vtableSize, objectSize: objectSize)
    }

    /// The position of field `slot`, or `nil` when the field is absent.

    func field(_ table: Table, slot: Int, width: Int) throws(FlatBufferError) -> Int? {
        let entry = 4 + 2 * slot
        guard entry < table.vtableSize else { return nil }
        let offset = Int(try integer(at: table.vtable + entry, as: UInt16.self))
        guard offset != 0 else { return nil }
        guard offset + width <= table.objectSize else {
            throw .fieldOutsideTable(table: table.position, slot: slot)
        }
        return table.position + offset
    }

    /// A scalar field; an absent field reads as 0.

    public func scalar<T: FixedWidthInteger>(_ table: Table, slot: Int, as: T.Type = T.self) throws(FlatBufferError) -> T {
        guard let at = try field(table, slot: slot, width: MemoryLayout<T>.size) else { return 0 }
        return try integer(at: at, as: T.self)
    }

    /// Follows the `uoffset` stored at `position`.

    func indirect(_ position: Int) throws(FlatBufferError) -> Int {
        position + Int(try integer(at: position, as: UInt32.self))
    }

    /// The target of an offset field, or `nil` when absent.

    public func reference(_ table: Table, slot: Int) throws(FlatBufferError) -> Int? {
        guard let at = try field(table, slot: slot, width: 4) else { return nil }
        return try indirect(at)
    }

    /// A vector's element count and the position of its first element, with its whole extent checked.

    public mutating func vector(at position: Int, elementSize: Int) throws(FlatBufferError) -> (count: Int, start: Int) {
        let n = Int(try integer(at: position, as: UInt32.self))
        let start = position + 4
        guard n <= (count - start) / elementSize else {
            throw .vectorTooLong(position: position, count: n)
        }
        try spend(n)
        return (n, start)
    }

    /// A vector of scalars, or `[]` when absent.

    public mutating func scalars<T: FixedWidthInteger>(_ table: Table, slot: Int, as: T.Type = T.self) throws(FlatBufferError) -> [T] {
        guard let at = try reference(table, slot: slot) else { return [] }
        let (n, start) = try vector(at: at, elementSize: MemoryLayout<T>.size)
        var out = [T]()
        out.reserveCapacity(n)
        for i in 0..<n { out.append(try integer(at: start + i * MemoryLayout<T>.size, as: T.self)) }
        return out
    }

    /// A vector of tables, or `[]` when absent.

    public mutating func tables(_ table: Table, slot: Int) throws(FlatBufferError) -> [Table] {
        guard let at = try reference(table, slot: slot) else { return [] }
        let (n, start) = try vector(at: at, elementSize: 4)
        var out = [Table]()
        out.reserveCapacity(n)
        for i in 0..<n { out.append(try self.table(at: try indirect(start + 4 * i))) }
        return out
    }

    /// The table a field refers to, or `nil` when absent.
    public mutating func table(_ table: Table, slot: Int) throws(FlatBufferError) -> Table? {
        guard let at = try reference(table, slot: slot) else { return nil }
        return try self.table(at: at)
    }

    /// The string at `position`; invalid UTF-8 is an error.
    public mutating func string(at position: Int) throws(FlatBufferError) -> String {
        let (n, start) = try vector(at: position, elementSize: 1)
        let s = buffer.withUnsafeReadableBytes { bytes in
            String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + n)]), as: UTF8.self)
        }
        guard let s else { throw .invalidUTF8(position: position) }
        return s
    }

    /// Checks a vector of strings as ``strings(_:slot:)`` reads it (the same errors, the same work), keeping none.
    public mutating func validateStrings(_ table: Table, slot: Int) throws(FlatBufferError) {
        guard let at = try reference(table, slot: slot) else { return }
        let (n, start) = try vector(at: at, elementSize: 4)
        for i in 0..<n { _ = try string(at: try indirect(start + 4 * i)) }
    }

    /// A string field, or `nil` when absent.
    public mutating func string(_ table: Table, slot: Int) throws(FlatBufferError) -> String? {
        guard let at = try reference(table, slot: slot) else { return nil }
        return try string(at: at)
    }

    /// A vector of strings, or `[]` when absent.
    public mutating func strings(_ table: Table, slot: Int) throws(FlatBufferError) -> [String] {
        guard let at = try reference(table, slot: slot) else { return [] }
        let (n, start) = try vector(at: at, elementSize: 4)
        var out = [String]()
        out.reserveCapacity(n)
        for i in 0..<n { out.append(try string(at: try indirect(start + 4 * i))) }
        return out
    }
}
