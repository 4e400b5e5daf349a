import NIOCore

/// A `ByteToMessageDecoder` that turns inbound bytes into ``Frame``s of one direction.
///
/// Errors are ``FrameError``s: an oversized announcement or a wrong class ID as soon as the header is in,
/// a truncated frame at EOF. The decoder never reserves the announced size; it waits for the bytes.
public struct FrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = Frame

    public let parser: FrameParser

    public init(direction: FrameParser.Direction, maxFrameSize: Int = FrameParser.defaultMaxFrameSize) {
        self.parser = FrameParser(direction: direction, maxFrameSize: maxFrameSize)
    }

    /// Decodes requests, as a server does.
    public static func requests(maxFrameSize: Int = FrameParser.defaultMaxFrameSize) -> FrameDecoder {
        FrameDecoder(direction: .request, maxFrameSize: maxFrameSize)
    }

    /// Decodes responses, as a client does.
    public static func responses(maxFrameSize: Int = FrameParser.defaultMaxFrameSize) -> FrameDecoder {
        FrameDecoder(direction: .response, maxFrameSize: maxFrameSize)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try parser.next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if seenEOF, let error = parser.leftoverError(buffer) {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            throw error
        }
        return .needMoreData
    }
}
