/// Why a byte stream is not a valid sequence of frames. Every case closes the connection it came from.
public enum FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The header announces more bytes than the configured maximum; nothing of that size is allocated.
    case frameTooLarge(announced: UInt64, limit: Int)
    /// The header's `processor_class_id` is not the one this direction requires.
    case wrongClassID(UInt64, expected: UInt64)
    /// The stream ended inside a frame.
    case truncatedFrame(have: Int, need: Int?)
    /// An answer with `data_size = 0`, which MindAlpha-Serving's Go client takes for a dead connection (docs/protocol.md
    /// §1.5); the pool does the same, so that a diagnosis shows what production clients see.
    case emptyAnswer(requestID: UInt64)

    public var description: String {
        switch self {
        case let .frameTooLarge(announced, limit):
            return "frame announces \(announced) bytes, over the \(limit)-byte limit (raise the max frame size if this is real)"
        case let .wrongClassID(got, expected):
            return "wrong processor class ID \(hex(got)) (expected \(hex(expected))): peer does not speak this protocol direction"
        case let .truncatedFrame(have, need):
            if let need { return "stream ended inside a frame: \(have) of \(need) bytes" }
            return "stream ended inside a frame header: \(have) of \(FrameHeader.size) bytes"
        case let .emptyAnswer(requestID):
            return "answer to request \(requestID) has data_size 0, which MindAlpha clients take for a dead connection"
        }
    }
}

@usableFromInline
func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16, uppercase: true) }
