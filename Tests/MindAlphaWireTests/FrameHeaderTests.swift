import MindAlphaWire
import NIOCore
import Testing

@Suite struct FrameHeaderTests {
    // docs/protocol.md §6: request, data_size = 10, ID 2.
    static let requestVector: [UInt8] = [
        0x08, 0, 0, 0, 0, 0, 0, 0,
        0x0a, 0, 0, 0, 0, 0, 0, 0,
        0x12, 0x09, 0x87, 0x53, 0xf8, 0xc4, 0x83, 0xe6,
        0x02, 0, 0, 0, 0, 0, 0, 0,
        0x12, 0x09, 0x87, 0x53, 0xf8, 0xc4, 0x83, 0xe6,
    ]
    // docs/protocol.md §6: response, data_size = 5, ID 2, zero meta.
    static let responseVector: [UInt8] = [
        0x08, 0, 0, 0, 0, 0, 0, 0,
        0x05, 0, 0, 0, 0, 0, 0, 0,
        0x53, 0x92, 0x53, 0x93, 0xd6, 0x59, 0xaa, 0x8b,
        0x02, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0,
    ]

    @Test func requestFrameMatchesVector() {
        var buffer = ByteBuffer()
        let body = ByteBuffer(bytes: Array(repeating: 0xAB, count: 10))
        let written = buffer.writeRequestFrame(requestID: 2, body: body)
        #expect(written == 50)
        #expect(Array(buffer.readableBytesView.prefix(40)) == Self.requestVector)
        #expect(Array(buffer.readableBytesView.dropFirst(40)) == Array(repeating: 0xAB, count: 10))
    }

    @Test func responseFrameMatchesVector() {
        var buffer = ByteBuffer()
        buffer.writeResponseFrame(requestID: 2, body: ByteBuffer(string: "hello"))
        #expect(Array(buffer.readableBytesView.prefix(40)) == Self.responseVector)
        #expect(buffer.readableBytes == 45)
    }

    @Test func headerDecodesVector() throws {
        let header = try #require(FrameHeader.peek(ByteBuffer(bytes: Self.requestVector), at: 0))
        #expect(header == FrameHeader(metaSize: 8, dataSize: 10, classID: ProcessorClassID.request, requestID: 2))
        let response = try #require(FrameHeader.peek(ByteBuffer(bytes: Self.responseVector), at: 0))
        #expect(response == FrameHeader(metaSize: 8, dataSize: 5, classID: ProcessorClassID.response, requestID: 2))
    }

    @Test func headerNeedsThirtyTwoBytes() {
        #expect(FrameHeader.peek(ByteBuffer(bytes: Self.requestVector.prefix(31)), at: 0) == nil)
    }

    @Test func headerRoundTrips() {
        let header = FrameHeader(metaSize: 8, dataSize: .max, classID: 7, requestID: 0x0102_0304_0506_0708)
        var buffer = ByteBuffer()
        #expect(header.write(to: &buffer) == 32)
        #expect(FrameHeader.peek(buffer, at: buffer.readerIndex) == header)
    }
}
