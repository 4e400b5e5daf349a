import NIOCore

/// The processor class IDs that mark a frame's direction (docs/protocol.md §1.1).
public enum ProcessorClassID {
    /// Written by clients in requests, both in the header and again as the 8-byte meta.
    public static let request: UInt64 = 0xE683_C4F8_5387_0912
    /// Expected by clients in every response header.
    public static let response: UInt64 = 0x8BAA_59D6_9353_9253
}

/// The 32-byte header in front of every request and response: four little-endian `UInt64`s.
public struct FrameHeader: Hashable, Sendable {
    /// The size of an encoded header.
    public static let size = 32
    /// The size of the meta block clients write and read (docs/protocol.md §1.2–§1.3).
    public static let metaSize = 8

    /// `meta_size`: 8 in requests; ignored in responses by the Go client.
    public var metaSize: UInt64
    /// `data_size`: the body length.
    public var dataSize: UInt64
    /// `processor_class_id`: ``ProcessorClassID/request`` or ``ProcessorClassID/response``.
    public var classID: UInt64
    /// The request ID a response is matched on.
    public var requestID: UInt64

    public init(metaSize: UInt64 = 8, dataSize: UInt64, classID: UInt64, requestID: UInt64) {
        self.metaSize = metaSize
        self.dataSize = dataSize
        self.classID = classID
        self.requestID = requestID
    }

    /// Reads a header at `index` without moving the reader index; `nil` when fewer than 32 bytes are readable there.
    @inlinable
    public static func peek(_ buffer: ByteBuffer, at index: Int) -> FrameHeader? {
        guard let meta = buffer.getInteger(at: index, endianness: .little, as: UInt64.self),
              let data = buffer.getInteger(at: index &+ 8, endianness: .little, as: UInt64.self),
              let cls = buffer.getInteger(at: index &+ 16, endianness: .little, as: UInt64.self),
              let id = buffer.getInteger(at: index &+ 24, endianness: .little, as: UInt64.self)
        else { return nil }
        return FrameHeader(metaSize: meta, dataSize: data, classID: cls, requestID: id)
    }

    /// Appends the 32 encoded bytes.
    @inlinable
    @discardableResult
    public func write(to buffer: inout ByteBuffer) -> Int {
        buffer.writeMultipleIntegers(metaSize, dataSize, classID, requestID, endianness: .little)
    }
}

extension ByteBuffer {
    /// Appends a request frame as the Go client writes it: header, the request class ID as meta, body.
    @inlinable
    @discardableResult
    public mutating func writeRequestFrame(requestID: UInt64, body: ByteBuffer) -> Int {
        var n = FrameHeader(dataSize: UInt64(body.readableBytes), classID: ProcessorClassID.request, requestID: requestID)
            .write(to: &self)
        n += writeInteger(ProcessorClassID.request, endianness: .little)
        n += writeImmutableBuffer(body)
        return n
    }

    /// Appends a response frame: header with `meta_size = 8`, exactly 8 zero meta bytes, body.
    @inlinable
    @discardableResult
    public mutating func writeResponseFrame(requestID: UInt64, body: ByteBuffer) -> Int {
        var n = writeResponseFrameHead(requestID: requestID, bodySize: body.readableBytes)
        n += writeImmutableBuffer(body)
        return n
    }

    /// Appends a response header and meta for a body of `bodySize` bytes that the caller writes next.
    @inlinable
    @discardableResult
    public mutating func writeResponseFrameHead(requestID: UInt64, bodySize: Int) -> Int {
        FrameHeader(dataSize: UInt64(bodySize), classID: ProcessorClassID.response, requestID: requestID)
            .write(to: &self) + writeInteger(UInt64(0), endianness: .little)
    }
}
