import MindAlphaWire
import NIOCore
import NIOPosix

/// A plain client for tests: one connection, request frames out, response frames in.
public final class FrameClient: Sendable {
    public let channel: Channel
    private let frames: AsyncThrowingStream<Frame, Error>
    private let iterator: Iterator

    private final class Iterator: @unchecked Sendable {
        var base: AsyncThrowingStream<Frame, Error>.AsyncIterator
        init(_ base: AsyncThrowingStream<Frame, Error>.AsyncIterator) { self.base = base }
    }

    private init(channel: Channel, frames: AsyncThrowingStream<Frame, Error>) {
        self.channel = channel
        self.frames = frames
        self.iterator = Iterator(frames.makeAsyncIterator())
    }

    /// Connects to `host:port` and decodes responses.
    public static func connect(host: String = "127.0.0.1", port: Int, maxFrameSize: Int = FrameParser.defaultMaxFrameSize) async throws -> FrameClient {
        let (stream, continuation) = AsyncThrowingStream<Frame, Error>.makeStream()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder.responses(maxFrameSize: maxFrameSize)),
                        Collector(continuation: continuation))
                    return channel
                }
            }
        return FrameClient(channel: channel, frames: stream)
    }

    /// Writes raw bytes.
    public func write(_ bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(bytes)
    }

    /// Writes one request frame.
    public func send(id: UInt64, body: ByteBuffer) async throws {
        var buffer = channel.allocator.buffer(capacity: 40 + body.readableBytes)
        buffer.writeRequestFrame(requestID: id, body: body)
        try await write(buffer)
    }

    /// The next response, `nil` once the connection has closed; throws ``Timeout`` after `timeout` (a bound for a
    /// failing test only: a busy 2-core CI machine may take seconds to schedule what already happened).
    public func next(timeout: Duration = .seconds(30)) async throws -> Frame? {
        try await withTimeout(timeout) { [iterator] in try await iterator.base.next() }
    }

    public func close() async {
        try? await channel.close()
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = Frame
        let continuation: AsyncThrowingStream<Frame, Error>.Continuation
        init(continuation: AsyncThrowingStream<Frame, Error>.Continuation) { self.continuation = continuation }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
        func errorCaught(context: ChannelHandlerContext, error: Error) {
            continuation.finish(throwing: error)
            context.close(promise: nil)
        }
    }
}

/// Thrown by ``withTimeout(_:_:)``.
public struct Timeout: Error, CustomStringConvertible {
    public var after: Duration
    public var description: String { "nothing happened within \(after)" }
}

/// Runs `body`, throwing ``Timeout`` if it has not finished after `duration`.
public func withTimeout<T: Sendable>(_ duration: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: duration)
            throw Timeout(after: duration)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
