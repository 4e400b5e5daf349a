import MindAlphaWire
import NIOCore

/// What the reference server answers to one request frame, whichever engine reads it: scores for a FlatBuffers
/// `Request`, an error `Response` when one is injected, otherwise `plainBody` (`responseSize` zero bytes).
enum ServerAnswer {
    static func write(_ frame: Frame, into buffer: inout ByteBuffer, plainBody: ByteBuffer, injectError: Bool = false) {
        let id = frame.requestID
        if injectError {
            let response = Response(tensor: .init(scores: []), debugInfo: "injected error (serve --error-rate)")
            write(response, id: id, into: &buffer)
        } else if mayBeFlatBuffer(frame.body), let response = try? ReferenceScorer.response(toFlatBuffer: frame.body) {
            write(response, id: id, into: &buffer)
        } else {
            buffer.writeResponseFrame(requestID: id, body: plainBody)
        }
    }

    /// The response's bytes go straight into the frame (no buffer of their own in between).
    private static func write(_ response: Response, id: UInt64, into buffer: inout ByteBuffer) {
        let bytes = response.flatBuffer()
        buffer.writeResponseFrameHead(requestID: id, bodySize: bytes.count)
        buffer.writeBytes(bytes)
    }

    /// A FlatBuffer starts with a root offset inside the buffer, 4-byte aligned: most other bodies fail this at once.
    @inline(__always)
    static func mayBeFlatBuffer(_ body: ByteBuffer) -> Bool {
        guard body.readableBytes >= 12,
              let root = body.getInteger(at: body.readerIndex, endianness: .little, as: UInt32.self)
        else { return false }
        return root & 3 == 0 && Int(root) <= body.readableBytes - 4
    }
}
