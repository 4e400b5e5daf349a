import NIOCore

/// One frame's header and body, cut from a stream.
public struct Frame: Sendable, Equatable {
    public var header: FrameHeader
    /// The body (`data_size` bytes); a slice of the input, not a copy.
    public var body: ByteBuffer

    public var requestID: UInt64 { header.requestID }

    public init(header: FrameHeader, body: ByteBuffer) {
        self.header = header
        self.body = body
    }
}

/// Cuts frames of one direction out of a byte stream. Pure: no I/O, no allocation but the body slice.
///
/// Requests honour `meta_size` (bounded by the limit); responses are read as the Go client reads them,
/// with exactly 8 meta bytes whatever `meta_size` says (docs/protocol.md §1.3). `data_size = 0` is an empty body.
public struct FrameParser: Sendable {
    public enum Direction: Sendable {
        case request, response

        @inlinable
        var classID: UInt64 { self == .request ? ProcessorClassID.request : ProcessorClassID.response }
    }

    /// The default maximum of meta plus body: 64 MiB.
    public static let defaultMaxFrameSize = 64 << 20

    public let direction: Direction
    /// The largest meta plus body accepted; a larger announcement is ``FrameError/frameTooLarge(announced:limit:)``.
    public let maxFrameSize: Int

    public init(direction: Direction, maxFrameSize: Int = FrameParser.defaultMaxFrameSize) {
        precondition(maxFrameSize >= 0, "maxFrameSize must not be negative")
        self.direction = direction
        self.maxFrameSize = maxFrameSize
    }

    /// Consumes one complete frame from `buffer`, or returns `nil` (consuming nothing) when more bytes are needed.
    /// A header that can never become a valid frame throws as soon as its 32 bytes are in.
    @inlinable
    public func next(from buffer: inout ByteBuffer) throws(FrameError) -> Frame? {
        guard let header = FrameHeader.peek(buffer, at: buffer.readerIndex) else { return nil }
        let expected = direction.classID
        guard header.classID == expected else { throw .wrongClassID(header.classID, expected: expected) }
        let meta: UInt64 = direction == .request ? header.metaSize : UInt64(FrameHeader.metaSize)
        let limit = UInt64(maxFrameSize)
        guard header.dataSize <= limit, meta <= limit, header.dataSize + meta <= limit else {
            let total = header.dataSize.addingReportingOverflow(meta)
            throw .frameTooLarge(announced: total.overflow ? .max : total.partialValue, limit: maxFrameSize)
        }
        let bodyStart = FrameHeader.size + Int(meta)
        let total = bodyStart + Int(header.dataSize)
        guard buffer.readableBytes >= total else { return nil }
        let body = buffer.getSlice(at: buffer.readerIndex + bodyStart, length: Int(header.dataSize))!
        buffer.moveReaderIndex(forwardBy: total)
        return Frame(header: header, body: body)
    }

    /// The error for bytes left over when the stream ends, or `nil` when none are.
    public func leftoverError(_ buffer: ByteBuffer) -> FrameError? {
        let have = buffer.readableBytes
        guard have > 0 else { return nil }
        guard let header = FrameHeader.peek(buffer, at: buffer.readerIndex) else {
            return .truncatedFrame(have: have, need: nil)
        }
        // The header as ``next(from:)`` judges it first: a leftover that was never a valid frame says why.
        var probe = buffer
        do {
            _ = try next(from: &probe)
        } catch {
            return error
        }
        let meta = direction == .request ? Int(header.metaSize) : FrameHeader.metaSize  // within the limit now
        return .truncatedFrame(have: have, need: FrameHeader.size + meta + Int(header.dataSize))
    }
}
