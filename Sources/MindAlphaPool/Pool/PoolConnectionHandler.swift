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

    private struct InFlight {
        let request: PoolRequest
        let leased: Bool
    }

    /// Bodies up to this size are copied into the connection's one outbound buffer (so a repeated body costs only
    /// its ID rewrite); larger ones are written from their own storage.
    static let copiedBodyLimit = 64 << 10

    /// How many recently abandoned request IDs are remembered to tell a late response from an unknown one.
    static let rememberedAbandoned = 256
    /// How many recently answered request IDs are remembered to tell a duplicate answer from an unknown one.
    static let rememberedAnswered = 256

    private let core: PoolCore
    let id: ConnectionID
    let key: InstanceKey
    let address: String
    private let parser: FrameParser
    private var inFlight = InFlightTable<InFlight>()
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
    private var timerAt = NIODeadline.distantFuture
    private var abandoned = CircularBuffer<UInt64>(initialCapacity: 16)
    private var abandonedSet = Set<UInt64>()
    private var expiredScratch: [UInt64] = []
    /// The last ``rememberedAnswered`` request IDs answered, as a ring (one store per answer; searched only when an
    /// answer matches nothing). Request IDs start at 2, so the zeros never match.
    private var answered = [UInt64](repeating: 0, count: PoolConnectionHandler.rememberedAnswered)
    private var answeredNext = 0

    init(core: PoolCore, id: ConnectionID, key: InstanceKey, address: String, maxFrameSize: Int) {
        self.core = core
        self.id = id
        self.key = key
        self.address = address
        self.parser = FrameParser(direction: .response, maxFrameSize: maxFrameSize)
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
            finish(InFlight(request: request, leased: leased), .failure(error))
            return
        }
        inFlight.insert(request.id, InFlight(request: request, leased: leased))
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
        if request.deadline < timerAt { arm(request.deadline, context: context) }
    }

    /// Whether two buffers view the same bytes of the same storage (ByteBuffer is copy-on-write, so shared storage
    /// with the same range means the same content).
    private static func sameBytes(_ a: ByteBuffer, _ b: ByteBuffer) -> Bool {
        a.withUnsafeReadableBytes { x in b.withUnsafeReadableBytes { y in x.baseAddress == y.baseAddress } }
    }

    func abandon(_ requestID: UInt64, with error: PoolError) {
        guard let entry = inFlight.remove(requestID) else { return }
        remember(requestID)
        finish(entry, .failure(error))
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
            while let frame = try parser.next(from: &input) {
                // As the Go client: an empty answer means a dead connection (docs/protocol.md §1.5).
                guard frame.body.readableBytes > 0 else { throw FrameError.emptyAnswer(requestID: frame.requestID) }
                deliver(frame)
                if failure != nil { return }
            }
        } catch {
            fail(.protocolViolation(instance: address, error), context: context)
            return
        }
        partial.keep(&input, allocator: context.channel.allocator)
    }

    private func deliver(_ frame: Frame) {
        let requestID = frame.requestID
        guard let entry = inFlight.remove(requestID) else {
            if abandonedSet.remove(requestID) != nil {
                core.noteLate(key: key)
                noteAnswered(requestID)
            } else if answered.contains(requestID) {
                core.noteDuplicate(key: key)
            } else {
                core.noteUnknown(key: key)
            }
            return
        }
        noteAnswered(requestID)
        let now = NIODeadline.now()
        let response = PoolResponse(
            requestID: requestID, body: frame.body, instance: address,
            latencyNanoseconds: (now - entry.request.submittedAt).nanoseconds)
        finish(entry, .success(response))
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
        let entries = inFlight.removeAll()
        for entry in entries { finish(entry, .failure(error)) }
        context.fireChannelInactive()
    }

    private func fail(_ error: PoolError, context: ChannelHandlerContext) {
        guard failure == nil else { return }
        failure = error
        context.close(promise: nil)
    }

    // MARK: completion and deadlines

    private func finish(_ entry: InFlight, _ result: Result<PoolResponse, PoolError>) {
        let errorClass: PoolError.Class?
        switch result {
        case .success: errorClass = nil
        case let .failure(error): errorClass = error.errorClass
        }
        if entry.leased {
            core.countLeased(key: key, error: errorClass)
        } else {
            core.finished(id, key: key, error: errorClass)
        }
        entry.request.complete(result)
    }

    private func arm(_ deadline: NIODeadline, context: ChannelHandlerContext) {
        timer?.cancel()
        timerAt = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in expire() }
    }

    /// Fails every request past its deadline and re-arms for the earliest one left.
    private func expire() {
        timer = nil
        timerAt = .distantFuture
        let now = NIODeadline.now()
        var next = NIODeadline.distantFuture
        expiredScratch.removeAll(keepingCapacity: true)
        inFlight.forEach { requestID, entry in
            if entry.request.deadline <= now {
                expiredScratch.append(requestID)
            } else if entry.request.deadline < next {
                next = entry.request.deadline
            }
        }
        for requestID in expiredScratch {
            guard let entry = inFlight.remove(requestID) else { continue }
            remember(requestID)
            finish(entry, .failure(.timeout(instance: address, after: Duration(entry.request.timeout))))
        }
        if next < timerAt, let context { arm(next, context: context) }
    }

    private func noteAnswered(_ requestID: UInt64) {
        answered[answeredNext] = requestID
        answeredNext = answeredNext + 1 == answered.count ? 0 : answeredNext + 1
    }

    private func remember(_ requestID: UInt64) {
        if abandoned.count == Self.rememberedAbandoned, let oldest = abandoned.popFirst() {
            abandonedSet.remove(oldest)
        }
        abandoned.append(requestID)
        abandonedSet.insert(requestID)
    }
}

/// The requests in flight on one connection, by request ID: two parallel arrays searched linearly (the count is
/// bounded by ``PoolConfiguration/maxInFlightPerConnection``), which beats hashing at the sizes a connection carries
/// and allocates nothing once grown.
struct InFlightTable<Entry> {
    private var ids: [UInt64] = []
    private var entries: [Entry] = []

    var isEmpty: Bool { ids.isEmpty }

    mutating func insert(_ id: UInt64, _ entry: Entry) {
        ids.append(id)
        entries.append(entry)
    }

    mutating func remove(_ id: UInt64) -> Entry? {
        guard let i = ids.firstIndex(of: id) else { return nil }
        let last = ids.count - 1
        if i != last {
            ids.swapAt(i, last)
            entries.swapAt(i, last)
        }
        ids.removeLast()
        return entries.removeLast()
    }

    func forEach(_ body: (UInt64, Entry) -> Void) {
        for i in ids.indices { body(ids[i], entries[i]) }
    }

    /// Empties the table, returning what it held.
    mutating func removeAll() -> [Entry] {
        defer {
            ids.removeAll(keepingCapacity: true)
            entries.removeAll(keepingCapacity: true)
        }
        return entries
    }
}
