import Logging
import MindAlphaWire
import NIOCore

/// Answers request frames on one connection.
///
/// Frames are cut straight from the inbound buffer (bytes are copied aside only when a frame spans reads);
/// answers that are ready at once go into one outbound buffer, written and flushed once per read burst and
/// then reused. Delayed answers are scheduled on the event loop and go out when ready, in completion order.
final class ServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent through the pipeline to start a graceful close: answer what is pending, then close.
    struct Drain: Sendable {}

    private let configuration: ServerConfiguration
    private let parser: FrameParser
    private let stats: ServerStats
    private let logger: Logger
    private let plainBody: ByteBuffer
    /// Hoisted out of the configuration so the per-request path reads one flag.
    private let injects: Bool
    private var random = FastRandom()
    /// Bytes of a frame that spans reads.
    private var partial = PartialFrame()
    private var out: ByteBuffer
    private var answeredInBurst = 0
    /// Delayed answers not yet written.
    private var scheduled = 0
    private var draining = false
    private var closed = false

    init(configuration: ServerConfiguration, stats: ServerStats, logger: Logger) {
        self.configuration = configuration
        self.parser = FrameParser(direction: .request, maxFrameSize: configuration.maxFrameSize)
        self.stats = stats
        self.logger = logger
        self.plainBody = ByteBuffer(repeating: 0, count: configuration.responseSize)
        self.injects = configuration.injects
        self.out = ByteBuffer()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        out = context.channel.allocator.buffer(capacity: 4096)
    }

    func channelActive(context: ChannelHandlerContext) {
        stats.connectionsAccepted.add(1, ordering: .relaxed)
        stats.connectionsOpen.add(1, ordering: .relaxed)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        stats.connectionsOpen.subtract(1, ordering: .relaxed)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        var input = unwrapInboundIn(data)
        partial.prepend(to: &input)
        do {
            while let frame = try parser.next(from: &input) {
                handle(frame, context: context)
                if closed { return }
            }
        } catch {
            reject(error, context: context)
            return
        }
        partial.keep(&input, allocator: context.channel.allocator)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushBurst(context: context)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is Drain {
            draining = true
            closeIfDrained(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Resets and the like: the connection is gone; nothing else is affected.
        logger.debug("connection error", metadata: ["peer": "\(peerDescription(context))", "error": "\(error)"])
        closed = true
        context.close(promise: nil)
    }

    private func handle(_ frame: Frame, context: ChannelHandlerContext) {
        guard injects else {
            answer(frame, into: &out)
            answeredInBurst += 1
            return
        }
        let roll = random.unit()
        if roll < configuration.closeRate {
            stats.closedByInjection.add(1, ordering: .relaxed)
            closed = true
            flushBurst(context: context)
            context.close(promise: nil)
            return
        }
        if roll < configuration.closeRate + configuration.dropRate {
            stats.dropped.add(1, ordering: .relaxed)
            return
        }
        let injectError = random.unit() < configuration.errorRate
        guard let latency = configuration.latency else {
            answer(frame, into: &out, injectError: injectError)
            answeredInBurst += 1
            return
        }
        let span = latency.upperBound.nanoseconds - latency.lowerBound.nanoseconds
        let delay = TimeAmount.nanoseconds(latency.lowerBound.nanoseconds + (span > 0 ? Int64.random(in: 0...span, using: &random) : 0))
        scheduled += 1
        context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            scheduled -= 1
            guard !closed else { return }
            var buffer = context.channel.allocator.buffer(capacity: FrameHeader.size + 16 + configuration.responseSize)
            answer(frame, into: &buffer, injectError: injectError)
            stats.answered.add(1, ordering: .relaxed)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            closeIfDrained(context: context)
        }
    }

    private func answer(_ frame: Frame, into buffer: inout ByteBuffer, injectError: Bool = false) {
        ServerAnswer.write(frame, into: &buffer, plainBody: plainBody, injectError: injectError)
    }

    private func flushBurst(context: ChannelHandlerContext) {
        guard out.readableBytes > 0 else { return }
        stats.answered.add(answeredInBurst, ordering: .relaxed)
        answeredInBurst = 0
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        out.clear()
        closeIfDrained(context: context)
    }

    private func closeIfDrained(context: ChannelHandlerContext) {
        guard draining, scheduled == 0, !closed else { return }
        closed = true
        context.close(promise: nil)
    }

    private func reject(_ error: Error, context: ChannelHandlerContext) {
        stats.badFrames.add(1, ordering: .relaxed)
        logger.warning("closing connection from \(peerDescription(context)): \(error)")
        closed = true
        flushBurst(context: context)
        context.close(promise: nil)
    }

    private func peerDescription(_ context: ChannelHandlerContext) -> String {
        guard let peer = context.channel.remoteAddress else { return "unknown peer" }
        if let ip = peer.ipAddress, let port = peer.port { return HostPort(host: ip, port: port).description }
        return "\(peer)"
    }
}
