import NIOCore

/// The bytes of a frame that spans reads, kept from one read to the next by a handler that parses frames straight
/// from the inbound buffer (copied aside only in that case).
public struct PartialFrame {
    /// What is kept, `nil` when the last read ended on a frame boundary.
    public private(set) var bytes: ByteBuffer?

    public init() {}

    /// Puts the kept bytes in front of `input`, and keeps nothing any more.
    public mutating func prepend(to input: inout ByteBuffer) {
        guard bytes != nil else { return }
        bytes!.writeBuffer(&input)
        input = bytes!
        bytes = nil
    }

    /// Keeps what is left of `input` after its complete frames: copied, so that the read buffer it sits in is freed.
    public mutating func keep(_ input: inout ByteBuffer, allocator: ByteBufferAllocator) {
        guard input.readableBytes > 0 else { return }
        var rest = allocator.buffer(capacity: max(input.readableBytes, 256))
        rest.writeBuffer(&input)
        bytes = rest
    }
}
