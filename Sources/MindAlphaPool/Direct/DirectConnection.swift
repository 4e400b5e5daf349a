#if os(Linux)
import CEpoll
import Glibc
import MindAlphaWire
import NIOCore

/// One connection of the direct engine, owned by one ``DirectClientLoop`` and touched only on its thread: a
/// non-blocking socket, one input buffer that answers are cut from in place, one output buffer that requests are
/// appended to and sent at once (or, for a burst handed over from other threads, once per burst), and its requests (``ConnectionRequests``, as the SwiftNIO engine has them).
final class DirectConnection {
    enum State { case connecting, open, closed }

    let fd: Int32
    let slot: Int
    let generation: UInt64
    unowned let loop: DirectClientLoop
    let id: ConnectionID
    let key: InstanceKey
    let address: String
    private let core: PoolCore
    private(set) var state = State.connecting
    private var input: ByteBuffer
    private var output: ByteBuffer
    private let parser: FrameParser
    private let requests: ConnectionRequests
    /// Waiting for the socket to take the rest of `output`.
    private var writing = false
    /// In the loop's list of connections to send for.
    private var dirty = false
    /// Why it is failing or closed; later writes fail with it.
    private var failure: PoolError?
    /// The deadline of the request timer that counts (others in the loop's heap are stale).
    private var armedAt = NIODeadline.distantFuture
    /// Completed once the socket is closed.
    let closed: EventLoopPromise<Void>
    /// Told once how the connect ended (then never again).
    private var onConnect: ((Result<DirectConnection, PoolError>) -> Void)?

    static let readEvents = mp_EPOLLIN | mp_EPOLLRDHUP

    init(
        fd: Int32, slot: Int, generation: UInt64, loop: DirectClientLoop, core: PoolCore, id: ConnectionID,
        key: InstanceKey, address: String, closed: EventLoopPromise<Void>,
        onConnect: @escaping (Result<DirectConnection, PoolError>) -> Void
    ) {
        self.fd = fd
        self.slot = slot
        self.generation = generation
        self.loop = loop
        self.core = core
        self.id = id
        self.key = key
        self.address = address
        self.closed = closed
        self.onConnect = onConnect
        input = loop.allocator.buffer(capacity: 4096)
        output = loop.allocator.buffer(capacity: 256)
        parser = FrameParser(direction: .response, maxFrameSize: core.configuration.maxFrameSize)
        requests = ConnectionRequests(core: core, id: id, key: key, address: address)
    }

    // MARK: connecting

    /// Starts a connect on `loop` (on its thread); `done` is told how it ended, on that thread. A name is resolved
    /// off the loop first; its addresses are tried in turn until one connects, within one connect timeout.
    static func connect(
        on loop: DirectClientLoop, core: PoolCore, id: ConnectionID, key: InstanceKey, instance: Instance,
        done: @escaping @Sendable (Result<DirectConnection, PoolError>) -> Void
    ) {
        let deadline = NIODeadline.now() + TimeAmount(core.configuration.connectTimeout)
        if let addresses = DirectAddresses.literal(instance.host, port: instance.port) {
            connect(to: addresses[...], by: deadline, on: loop, core: core, id: id, key: key, instance: instance, done: done)
            return
        }
        DirectAddresses.resolve(instance.host, port: instance.port, instance: instance.address) { resolved in
            loop.execute {
                switch resolved {
                case .success where NIODeadline.now() >= deadline:
                    // DNS took the whole connect timeout (its own retries run longer): the connect timed out.
                    let timeout = formatDuration(core.configuration.connectTimeout)
                    done(.failure(.connectFailed(instance: instance.address, reason: "connect timed out after \(timeout) (resolving '\(instance.host)')")))
                case let .success(addresses):
                    connect(to: addresses[...], by: deadline, on: loop, core: core, id: id, key: key, instance: instance, done: done)
                case let .failure(error):
                    done(.failure(error))
                }
            }
        }
    }

    /// Connects to the first of `addresses`; when that fails and time is left, to the next (a name listed for IPv6
    /// and IPv4, the instance listening on one of them). Each but the last gets its share of the time left (at least
    /// 250 ms, RFC 8305's attempt delay), so an address that never answers does not take the whole timeout. The last
    /// failure is the one told.
    static func connect(
        to addresses: ArraySlice<DirectAddresses.Address>, by deadline: NIODeadline, on loop: DirectClientLoop, core: PoolCore,
        id: ConnectionID, key: InstanceKey, instance: Instance,
        done: @escaping @Sendable (Result<DirectConnection, PoolError>) -> Void
    ) {
        let rest = addresses.dropFirst()
        let attempted: (Result<DirectConnection, PoolError>) -> Void = { result in
            if case let .failure(error) = result, error.errorClass == .connect, !rest.isEmpty, NIODeadline.now() < deadline {
                connect(to: rest, by: deadline, on: loop, core: core, id: id, key: key, instance: instance, done: done)
            } else {
                done(result)
            }
        }
        var address = addresses.first!
        let fd = mp_connect(&address)
        guard fd >= 0 else {
            attempted(.failure(connectError(errno: errno, instance: instance.address)))
            return
        }
        let closed = core.group.any().makePromise(of: Void.self)
        let c = loop.adopt(fd, events: mp_EPOLLOUT) { slot, generation in
            DirectConnection(fd: fd, slot: slot, generation: generation, loop: loop, core: core, id: id, key: key,
                             address: instance.address, closed: closed, onConnect: attempted)
        }
        var attemptEnds = deadline
        if !rest.isEmpty {
            let now = NIODeadline.now()
            let share = (deadline - now).nanoseconds / Int64(addresses.count)
            attemptEnds = min(deadline, now + .nanoseconds(max(share, 250_000_000)))
        }
        loop.arm(.connect(slot: c.slot, generation: c.generation), at: attemptEnds)
    }

    /// A connect that failed with `code`: on this client's own limits (too many open files, no local port), or the
    /// instance's failure.
    private static func connectError(errno code: Int32, instance: String) -> PoolError {
        if let limit = SocketErrorText.clientLimit(errno: code) { return .clientLimit(instance: instance, reason: limit) }
        return .connectFailed(instance: instance, reason: SocketErrorText.describe(errno: code))
    }

    func connectTimedOut() {
        guard state == .connecting else { return }
        connectFailed(.connectFailed(instance: address, reason: "connect timed out after \(formatDuration(core.configuration.connectTimeout))"))
    }

    private func connectFailed(_ error: PoolError) {
        state = .closed
        Glibc.close(fd)
        loop.release(self)
        closed.succeed(())
        let done = onConnect
        onConnect = nil
        done?(.failure(error))
    }

    // MARK: events

    func ready(events: UInt32) {
        switch state {
        case .connecting:
            let code = mp_connect_result(fd)
            guard code == 0 else {
                connectFailed(Self.connectError(errno: code, instance: address))
                return
            }
            state = .open
            loop.watch(self, events: Self.readEvents)
            let done = onConnect
            onConnect = nil
            done?(.success(self))
        case .open:
            // An error or hang-up is reported whatever was asked for: the read (or send) then says what it was.
            if events & mp_EPOLLOUT != 0 { flush() }
            if state == .open, events & (mp_EPOLLIN | mp_EPOLLRDHUP | mp_EPOLLHUP | mp_EPOLLERR) != 0 { read() }
        case .closed:
            break
        }
    }

    /// Reads what the socket holds (a few reads at most, then the others get their turn) and answers the complete
    /// frames.
    private func read() {
        for _ in 0..<16 {
            input.reserveCapacity(minimumWritableBytes: 4096)
            let room = input.writableBytes
            let n = input.withUnsafeMutableWritableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                input.moveWriterIndex(forwardBy: n)
                deliver()
                guard state == .open, failure == nil else { return }
                if n < room { return }
            } else if n == 0 {
                if let leftover = parser.leftoverError(input) {
                    fail(.protocolViolation(instance: address, leftover))
                } else {
                    fail(.connectionClosed(instance: address, reason: "closed by the instance"))
                }
                return
            } else {
                switch errno {
                case EINTR: continue
                case EAGAIN, EWOULDBLOCK: return
                default:
                    fail(.connectionClosed(instance: address, reason: SocketErrorText.describe(errno: errno)))
                    return
                }
            }
        }
    }

    /// Every complete answer in `input` finishes its request; a bad frame fails the connection.
    private func deliver() {
        do throws(FrameError) {
            try requests.answerAll(from: &input, parser: parser) { failure == nil }
            if failure != nil { return }
        } catch {
            fail(.protocolViolation(instance: address, error))
            return
        }
        if input.readableBytes == 0 {
            input.clear()
        } else if input.readerIndex >= 2048 {
            input.discardReadBytes()  // the start of a frame moves to the front
        }
    }

    // MARK: requests

    /// Appends a request to the output (sent at the end of this wake-up), or fails it when the connection is gone.
    func send(_ request: PoolRequest, leased: Bool) {
        guard state == .open, failure == nil else {
            let error = failure ?? .connectionClosed(instance: address, reason: "closed before the request was written")
            requests.reject(request, leased: leased, error)
            return
        }
        if let deadline = requests.add(request, leased: leased) {
            armedAt = deadline
            loop.arm(.requests(slot: slot, generation: generation), at: deadline)
        }
        output.writeRequestFrame(requestID: request.id, body: request.body)
        guard !writing else { return }  // EPOLLOUT sends it
        if loop.coalescing {
            // Requests handed over from other threads come in bursts: one send for each connection's share.
            if !dirty {
                dirty = true
                loop.markDirty(slot)
            }
        } else {
            // At once, as C's epoll client does: the instance starts on it while the loop reads the next answers
            // (held back to the end of the wake-up, the requests would reach it in one burst, and it would wait
            // idle for that burst while this loop waits idle for the answers).
            flush()
        }
    }

    func abandon(_ requestID: UInt64, with error: PoolError) { requests.abandon(requestID, with: error) }

    /// The loop's timer for `deadline` fired: requests past their deadline fail; the timer is armed for the next.
    func timerFired(_ deadline: NIODeadline, now: NIODeadline) {
        guard deadline == armedAt, state == .open else { return }
        armedAt = .distantFuture
        if let next = requests.expire(now: now), next < armedAt {
            armedAt = next
            loop.arm(.requests(slot: slot, generation: generation), at: next)
        }
    }

    /// Sends what `output` holds; what the socket does not take waits for `EPOLLOUT`.
    func flush() {
        dirty = false
        while output.readableBytes > 0 {
            let n = output.withUnsafeReadableBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                output.moveReaderIndex(forwardBy: n)
                continue
            }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                if !writing {
                    writing = true
                    loop.watch(self, events: Self.readEvents | mp_EPOLLOUT)
                }
                return
            }
            fail(.connectionClosed(instance: address, reason: SocketErrorText.describe(errno: errno)))
            return
        }
        output.clear()
        if writing {
            writing = false
            loop.watch(self, events: Self.readEvents)
        }
    }

    // MARK: closing

    /// Closes the connection from the pool's side; requests still in flight fail with `error`.
    func close(failing error: PoolError) { fail(error, byPool: true) }

    /// The connection ends: the socket closes, the pool is told (a failure counts against the instance unless the
    /// pool closed it), and what was in flight fails with `error`.
    func fail(_ error: PoolError, byPool: Bool = false) {
        guard state != .closed else { return }
        if state == .connecting {
            connectFailed(error)
            return
        }
        if failure == nil { failure = error }
        state = .closed
        Glibc.close(fd)  // also takes it out of the epoll set
        loop.release(self)
        let failure = self.failure ?? error
        core.closed(id, key: key, error: byPool ? nil : failure)
        requests.failAll(failure)
        closed.succeed(())
    }
}
#endif
