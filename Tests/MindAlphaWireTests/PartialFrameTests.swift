import MindAlphaWire
import NIOCore
import Testing

@Suite struct PartialFrameTests {
    /// Two response frames cut into every possible pair of reads come out whole, in order.
    @Test func framesSplitAcrossReadsAreReassembled() throws {
        var stream = ByteBuffer()
        stream.writeResponseFrame(requestID: 7, body: ByteBuffer(string: "first"))
        stream.writeResponseFrame(requestID: 8, body: ByteBuffer(string: "second"))
        let parser = FrameParser(direction: .response)
        for cut in 1..<stream.readableBytes {
            var partial = PartialFrame()
            var ids: [UInt64] = []
            for piece in [stream.getSlice(at: 0, length: cut)!, stream.getSlice(at: cut, length: stream.readableBytes - cut)!] {
                var input = piece
                partial.prepend(to: &input)
                while let frame = try parser.next(from: &input) { ids.append(frame.requestID) }
                partial.keep(&input, allocator: ByteBufferAllocator())
            }
            #expect(ids == [7, 8], "cut at \(cut)")
            #expect(partial.bytes == nil)
        }
    }

    @Test func onlyTheUnfinishedTailIsKept() {
        var partial = PartialFrame()
        var input = ByteBuffer(bytes: [1, 2, 3, 4, 5])
        input.moveReaderIndex(forwardBy: 3)
        partial.keep(&input, allocator: ByteBufferAllocator())
        #expect(partial.bytes.map { Array($0.readableBytesView) } == [4, 5])
        var next = ByteBuffer(bytes: [6])
        partial.prepend(to: &next)
        #expect(Array(next.readableBytesView) == [4, 5, 6])
        #expect(partial.bytes == nil)
    }
}
