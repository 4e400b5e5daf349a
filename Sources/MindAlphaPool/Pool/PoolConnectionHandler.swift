import MindAlphaWire
import NIOCore

/// Writes requests and matches responses by request ID on one connection; many may be in flight at once.
///
/// The per-request path allocates nothing once warm: one outbound buffer is reused (cleared and refilled for each
/// request), the in-flight table keeps its capacity, frames are parsed straight from the inbound buffer, and one
/// timer per connection stands for every deadline (it fires at the earliest and is re-armed from there).
final class PoolConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Bodies up to this size are copied into the connection's one outbound buffer (so a repeated body costs only
    /// its ID rewrite); larger ones are written from their own storage.
    static let copiedBodyLimit = 64 << 10

    private let core: PoolCore
    let id: ConnectionID
    let key: InstanceKey
    let address: String
    private let parser: FrameParser
    private let requests: ConnectionRequests
    private var partial = PartialFrame()
    private var out = ByteBuffer()
    /// The body `out` holds; kept so that its storage (and so its address) cannot be reused while compared.
    private var lastBody = ByteBuffer()
    private var context: ChannelHandlerContext?
    /// Set once the connection is failing or closed; later writes fail with it.
    private var failure: PoolError?
    /// Whether the pool closed it (not counted as the instance's failure).
    private var closedByPool = false
    private var timer: Scheduled<Void>?

    init(core: PoolCore, id: ConnectionID, key: InstanceKey, address: String, maxFrameSize: Int) {
        self.core = core
        self.id = id
        self.key = key
        self.address = address
        self.parser = FrameParser(direction: .response, maxFrameSize: maxFrameSize)
        self.requests = ConnectionRequests(core: core, id: id, key: key, address: address)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        out = context.channel.allocator.buffer(capacity: 256)
    }

    /// The pipeline is torn down (also after a connect that failed, when the channel never became active): the
    /// context is let go, or the handler and its channel would keep each other alive (LeakSanitizer found it).
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        timer?.cancel()
        timer = nil
    }

    // MARK: outbound

    func send(_ request: PoolRequest, leased: Bool) {
        guard let context, failure == nil else {
            let error = failure ?? .connectionClosed(instance: address, reason: "closed before the request was written")
            requests.reject(request, leased: leased, error)
            return
        }
        let arm = requests.add(request, leased: leased)
        if request.body.readableBytes > Self.copiedBodyLimit {
            // A large body is written from its own storage after the header, never copied per connection.
            out.clear()
            FrameHeader(dataSize: UInt64(request.body.readableBytes), classID: ProcessorClassID.request, requestID: request.id)
                .write(to: &out)
            out.writeInteger(ProcessorClassID.request, endianness: .little)
            lastBody = ByteBuffer()
            context.write(wrapOutboundOut(out), promise: nil)
            context.writeAndFlush(wrapOutboundOut(request.body), promise: nil)
            out = context.channel.allocator.buffer(capacity: 256)
        } else if out.readableBytes == FrameHeader.size + FrameHeader.metaSize + lastBody.readableBytes,
           request.body.readableBytes == lastBody.readableBytes, Self.sameBytes(request.body, lastBody) {
            // The same body as the last request (a load generator's): only the request ID changes.
            out.setInteger(request.id, at: out.readerIndex + 24, endianness: .little)
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        } else {
            out.clear()
            out.writeRequestFrame(requestID: request.id, body: request.body)
            lastBody = request.body
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        }
        if let arm { self.arm(arm, context: context) }
    }

    /// Whether two buffers view the same bytes of the same storage (ByteBuffer is copy-on-write, so shared storage
    /// with the same range means the same content).
    private static func sameBytes(_ a: ByteBuffer, _ b: ByteBuffer) -> Bool {
        a.withUnsafeReadableBytes { x in b.withUnsafeReadableBytes { y in x.baseAddress == y.baseAddress } }
    }

    func abandon(_ requestID: UInt64, with error: PoolError) {
        requests.abandon(requestID, with: error)
    }

    func close(failing error: PoolError) {
        guard let context else { return }
        closedByPool = true
        if failure == nil { failure = error }
        context.close(promise: nil)
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard failure == nil else { return }
        var input = unwrapInboundIn(data)
        partial.prepend(to: &input)
        do throws(FrameError) {
            try requests.answerAll(from: &input, parser: parser) { failure == nil }
            if failure != nil { return }
        } catch {
            fail(.protocolViolation(instance: address, error), context: context)
            return
        }
        partial.keep(&input, allocator: context.channel.allocator)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(.connectionClosed(instance: address, reason: "\(error)"), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error: PoolError
        if let failure {
            error = failure
        } else if let bytes = partial.bytes, let leftover = parser.leftoverError(bytes) {
            error = .protocolViolation(instance: address, leftover)
        } else {
            error = .connectionClosed(instance: address, reason: "closed by the instance")
        }
        failure = error
        self.context = nil
        timer?.cancel()
        timer = nil
        core.closed(id, key: key, error: closedByPool ? nil : error)
        requests.failAll(error)
        context.fireChannelInactive()
    }

    private func fail(_ error: PoolError, context: ChannelHandlerContext) {
        guard failure == nil else { return }
        failure = error
        context.close(promise: nil)
    }

    // MARK: completion and deadlines

    private func arm(_ deadline: NIODeadline, context: ChannelHandlerContext) {
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            if let next = requests.expire(now: .now()), let context = self.context { arm(next, context: context) }
        }
    }
}
