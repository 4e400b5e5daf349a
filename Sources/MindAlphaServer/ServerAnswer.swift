import MindAlphaWire
import NIOCore

/// What the reference server answers to one request frame, whichever engine reads it: scores for a FlatBuffers
/// `Request`, an error `Response` when one is injected, otherwise `plainBody` (`responseSize` zero bytes).
enum ServerAnswer {
    static func write(_ frame: Frame, into buffer: inout ByteBuffer, plainBody: ByteBuffer, injectError: Bool = false) {
        let id = frame.requestID
        if injectError {
            let response = Response(tensor: .init(scores: []), debugInfo: "injected error (serve --error-rate)")
            buffer.writeResponseFrame(requestID: id, body: ByteBuffer(bytes: response.flatBuffer()))
        } else if mayBeFlatBuffer(frame.body), let request = try? Request(flatBuffer: frame.body) {
            buffer.writeResponseFrame(requestID: id, body: ByteBuffer(bytes: ReferenceScorer.response(to: request).flatBuffer()))
        } else {
            buffer.writeResponseFrame(requestID: id, body: plainBody)
        }
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
