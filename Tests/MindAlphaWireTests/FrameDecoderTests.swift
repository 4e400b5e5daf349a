import MindAlphaWire
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@Suite struct FrameDecoderTests {
    static func request(_ id: UInt64, _ body: String) -> (bytes: ByteBuffer, frame: Frame) {
        var bytes = ByteBuffer()
        bytes.writeRequestFrame(requestID: id, body: ByteBuffer(string: body))
        let header = FrameHeader(dataSize: UInt64(body.utf8.count), classID: ProcessorClassID.request, requestID: id)
        return (bytes, Frame(header: header, body: ByteBuffer(string: body)))
    }

    static func response(_ id: UInt64, _ body: String, metaSize: UInt64 = 8) -> (bytes: ByteBuffer, frame: Frame) {
        var bytes = ByteBuffer()
        let header = FrameHeader(metaSize: metaSize, dataSize: UInt64(body.utf8.count), classID: ProcessorClassID.response, requestID: id)
        header.write(to: &bytes)
        bytes.writeInteger(UInt64(0xFEED))
        bytes.writeString(body)
        return (bytes, Frame(header: header, body: ByteBuffer(string: body)))
    }

    @Test func requestsSplitDripFedAndCoalesced() throws {
        let cases = [Self.request(2, "hello"), Self.request(3, ""), Self.request(.max, String(repeating: "x", count: 300))]
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: cases.map { ($0.bytes, [$0.frame]) },
            decoderFactory: { FrameDecoder.requests() })
    }

    @Test func responsesReadExactlyEightMetaBytesWhateverMetaSizeSays() throws {
        // The Go client never looks at meta_size (docs/protocol.md §1.3); neither do we.
        let cases = [Self.response(2, "ok"), Self.response(9, "", metaSize: 0), Self.response(4, "abc", metaSize: 1000)]
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: cases.map { ($0.bytes, [$0.frame]) },
            decoderFactory: { FrameDecoder.responses() })
    }

    @Test func requestMetaSizeIsHonoured() throws {
        var bytes = ByteBuffer()
        FrameHeader(metaSize: 3, dataSize: 2, classID: ProcessorClassID.request, requestID: 5).write(to: &bytes)
        bytes.writeBytes([1, 2, 3, 0x41, 0x42])
        var parser = bytes
        let frame = try #require(try FrameParser(direction: .request).next(from: &parser))
        #expect(frame.body == ByteBuffer(string: "AB"))
        #expect(parser.readableBytes == 0)
    }

    @Test func oversizedFrameIsRejectedFromTheHeaderAlone() throws {
        var header = ByteBuffer()
        FrameHeader(dataSize: 10 << 30, classID: ProcessorClassID.response, requestID: 1).write(to: &header)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder.responses()))
        #expect(throws: FrameError.frameTooLarge(announced: (10 << 30) + 8, limit: 64 << 20)) {
            try channel.writeInbound(header)
        }
        _ = try? channel.finish()
    }

    @Test func maxFrameSizeIsSettable() throws {
        let (bytes, _) = Self.request(1, String(repeating: "y", count: 100))
        var input = bytes
        #expect(throws: FrameError.frameTooLarge(announced: 108, limit: 64)) {
            _ = try FrameParser(direction: .request, maxFrameSize: 64).next(from: &input)
        }
        input = bytes
        #expect(try FrameParser(direction: .request, maxFrameSize: 108).next(from: &input) != nil)
    }

    @Test func hugeMetaSizeDoesNotOverflow() {
        var bytes = ByteBuffer()
        FrameHeader(metaSize: .max, dataSize: .max, classID: ProcessorClassID.request, requestID: 1).write(to: &bytes)
        #expect(throws: FrameError.frameTooLarge(announced: .max, limit: 64 << 20)) {
            _ = try FrameParser(direction: .request).next(from: &bytes)
        }
    }

    @Test func wrongClassIDIsATypedError() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder.responses()))
        // A request where a response was expected.
        #expect(throws: FrameError.wrongClassID(ProcessorClassID.request, expected: ProcessorClassID.response)) {
            try channel.writeInbound(Self.request(2, "x").bytes)
        }
        _ = try? channel.finish()
    }

    @Test func truncatedFrameAtEOFIsATypedError() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder.requests()))
        var partial = Self.request(7, "hello").bytes
        partial.moveWriterIndex(to: partial.writerIndex - 2)
        try channel.writeInbound(partial)
        #expect(try channel.readInbound(as: Frame.self) == nil)
        #expect(throws: FrameError.truncatedFrame(have: 43, need: 45)) { try channel.finish() }
    }

    @Test func truncatedHeaderAtEOFIsATypedError() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder.requests()))
        try channel.writeInbound(ByteBuffer(bytes: [8, 0, 0]))
        #expect(throws: FrameError.truncatedFrame(have: 3, need: nil)) { try channel.finish() }
    }

    @Test func emptyBodyIsAcceptedInResponses() throws {
        // Unlike the Go client, data_size = 0 is an empty body, not a dead connection (docs/protocol.md §9).
        var input = Self.response(3, "").bytes
        let frame = try #require(try FrameParser(direction: .response).next(from: &input))
        #expect(frame.body.readableBytes == 0)
        #expect(frame.requestID == 3)
    }

    @Test func errorsSayWhatToDo() {
        #expect(FrameError.frameTooLarge(announced: 100, limit: 10).description.contains("raise the max frame size"))
        #expect(FrameError.wrongClassID(1, expected: 2).description.contains("0x1"))
    }
}
