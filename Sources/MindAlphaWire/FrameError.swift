/// Why a byte stream is not a valid sequence of frames. Every one closes the connection it came from.
///
/// A struct over a private code, so that new violations can be added without breaking callers: compare values
/// (`error == .emptyAnswer(requestID: 7)`) or read ``description``.
public struct FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: Hashable, Sendable {
        case frameTooLarge(announced: UInt64, limit: Int)
        case wrongClassID(UInt64, expected: UInt64)
        case truncatedFrame(have: Int, need: Int?)
        case emptyAnswer(requestID: UInt64)
    }

    let code: Code

    private init(_ code: Code) { self.code = code }

    /// The header announces more bytes than the configured maximum; nothing of that size is allocated.
    public static func frameTooLarge(announced: UInt64, limit: Int) -> Self { Self(.frameTooLarge(announced: announced, limit: limit)) }
    /// The header's `processor_class_id` is not the one this direction requires.
    public static func wrongClassID(_ got: UInt64, expected: UInt64) -> Self { Self(.wrongClassID(got, expected: expected)) }
    /// The stream ended inside a frame (`need` is `nil` inside the header).
    public static func truncatedFrame(have: Int, need: Int?) -> Self { Self(.truncatedFrame(have: have, need: need)) }
    /// An answer with `data_size = 0`, which MindAlpha-Serving's Go client takes for a dead connection (docs/protocol.md
    /// §1.5); the pool does the same, so that a diagnosis shows what production clients see.
    public static func emptyAnswer(requestID: UInt64) -> Self { Self(.emptyAnswer(requestID: requestID)) }

    public var description: String {
        switch code {
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
