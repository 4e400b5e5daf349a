import NIOCore

private enum Slot {
    enum Tensor { static let values = 0, scores = 1 }
    enum Response { static let version = 0, tensor = 1, debugInfo = 2 }
}

extension Response {
    /// The FlatBuffer body.
    public func flatBuffer() -> [UInt8] {
        var b = FlatBufferBuilder(capacity: 64 + 4 * (tensor?.scores.count ?? 0))
        var tensorOffset: FlatBufferBuilder.Offset?
        if let tensor {
            let values = b.createVector(tensor.values)
            let scores = b.createVector(tensor.scores)
            b.startTable(fieldCount: 2)
            b.add(values, slot: Slot.Tensor.values)
            b.add(scores, slot: Slot.Tensor.scores)
            tensorOffset = b.endTable()
        }
        let debug = debugInfo.map { b.createString($0) }
        let version = version.map { b.createString($0) }
        b.startTable(fieldCount: 3)
        if let version { b.add(version, slot: Slot.Response.version) }
        if let tensorOffset { b.add(tensorOffset, slot: Slot.Response.tensor) }
        if let debug { b.add(debug, slot: Slot.Response.debugInfo) }
        let root = b.endTable()
        return b.finish(root: root)
    }

    /// Reads a `Response` FlatBuffer from the buffer's readable bytes.
    public init(flatBuffer buffer: ByteBuffer) throws(FlatBufferError) {
        var r = FlatBufferReader(buffer)
        let root = try r.root()
        var tensor: Tensor?
        if let t = try r.table(root, slot: Slot.Response.tensor) {
            tensor = Tensor(
                values: try r.scalars(t, slot: Slot.Tensor.values, as: Int8.self),
                scores: try r.scalars(t, slot: Slot.Tensor.scores, as: UInt32.self).map(Float.init(bitPattern:)))
        }
        self.init(
            version: try r.string(root, slot: Slot.Response.version),
            tensor: tensor,
            debugInfo: try r.string(root, slot: Slot.Response.debugInfo))
    }

    /// Reads a `Response` FlatBuffer from bytes.
    public init(flatBuffer bytes: [UInt8]) throws(FlatBufferError) {
        try self.init(flatBuffer: ByteBuffer(bytes: bytes))
    }
}
