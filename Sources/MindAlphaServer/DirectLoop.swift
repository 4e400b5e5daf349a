#if os(Linux)
import CEpoll
import Glibc
import Logging
import MindAlphaWire
import NIOCore

/// One thread of the direct engine: it waits on the listening sockets (shared by every thread, `EPOLLEXCLUSIVE`: one
/// thread is woken per connection; what it accepts it hands out in turn, so the connections spread over the threads)
/// and on every connection it owns, in one `epoll_wait`. Per ready connection it reads what is there into the connection's one input buffer, cuts frames
/// from it in place, writes each answer into the connection's one output buffer, and sends that with one system
/// call: no event-loop hop, no pipeline, no lock, no allocation per request (buffers are reused; they grow only for
/// larger frames).
final class DirectLoop {
    final class Connection {
        let fd: Int32
        let slot: Int
        var input: ByteBuffer
        var output: ByteBuffer
        /// Waiting for the socket to take the rest of `output`: reading is paused meanwhile.
        var writing = false
        /// Closes once `output` is written (shutdown, or the peer's end of the stream).
        var closeWhenWritten = false
        /// A bad frame was read: nothing more is parsed.
        var broken = false

        init(fd: Int32, slot: Int, allocator: ByteBufferAllocator) {
            self.fd = fd
            self.slot = slot
            input = allocator.buffer(capacity: 64 << 10)
            output = allocator.buffer(capacity: 64 << 10)
        }
    }

    static let wakeTag: UInt64 = 1 << 63
    static let listenerTag: UInt64 = 1 << 62

    private let epoll: Int32
    private let inbox: DirectInbox
    /// Every loop's inbox, this one's at `index`; `turn` says whose the next accepted connection is.
    private let peers: [DirectInbox]
    private let index: Int
    private let turn: DirectTurn
    private let listeners: [Int32]
    private var listening = true
    private var connections: [Connection?] = []
    private var freeSlots: [Int] = []
    private var open = 0
    private let parser: FrameParser
    private let plainBody: ByteBuffer
    private let stats: ServerStats
    private let logger: Logger
    private let drainTimeout: TimeAmount
    private let allocator = ByteBufferAllocator()
    private var stopDeadline: NIODeadline?

    /// `listeners` are bound and listening (the caller closes them once every loop ended); `peers[index]` is this
    /// loop's inbox.
    init(
        listeners: [Int32], peers: [DirectInbox], index: Int, turn: DirectTurn, configuration: ServerConfiguration,
        stats: ServerStats, logger: Logger
    ) {
        self.epoll = mp_epoll_create()
        self.inbox = peers[index]
        self.peers = peers
        self.index = index
        self.turn = turn
        self.listeners = listeners
        self.parser = FrameParser(direction: .request, maxFrameSize: configuration.maxFrameSize)
        self.plainBody = ByteBuffer(repeating: 0, count: configuration.responseSize)
        self.stats = stats
        self.logger = logger
        self.drainTimeout = configuration.drainTimeout
        _ = mp_epoll_ctl(epoll, mp_EPOLL_CTL_ADD, inbox.wake, mp_EPOLLIN, Self.wakeTag)
        for (i, fd) in listeners.enumerated() {
            _ = mp_epoll_ctl(epoll, mp_EPOLL_CTL_ADD, fd, mp_EPOLLIN | mp_EPOLLEXCLUSIVE, Self.listenerTag | UInt64(i))
        }
    }

    /// Runs until stopped and every connection is closed (or the drain timeout passed).
    func run() {
        let capacity = 512
        var tags = [UInt64](repeating: 0, count: capacity)
        var events = [UInt32](repeating: 0, count: capacity)
        while true {
            let timeout: Int32 = stopDeadline == nil ? -1 : 50
            let n = tags.withUnsafeMutableBufferPointer { t in
                events.withUnsafeMutableBufferPointer { e in
                    mp_epoll_wait(epoll, t.baseAddress, e.baseAddress, Int32(capacity), timeout)
                }
            }
            if n < 0 {
                if errno == EINTR { continue }
                logger.error("epoll_wait failed: \(String(cString: strerror(errno)))")
                break
            }
            for i in 0..<Int(n) { handle(tag: tags[i], events: events[i]) }
            if let deadline = stopDeadline {
                if open == 0 { break }
                if NIODeadline.now() >= deadline {
                    for case let c? in connections { close(c) }
                    break
                }
            }
        }
        Glibc.close(epoll)
    }

    private func handle(tag: UInt64, events: UInt32) {
        if tag == Self.wakeTag {
            inbox.drainWake()
            for fd in inbox.take() { adopt(fd) }
            if inbox.stopRequested { stop() }
        } else if tag & Self.listenerTag != 0 {
            accept(listeners[Int(tag & ~Self.listenerTag)])
        } else if let c = connections[Int(tag)] {
            // An error or hang-up is reported whatever was asked for, also while only EPOLLOUT is: then the send
            // fails and closes the connection (ignoring it would wake this loop again at once, forever).
            if events & mp_EPOLLOUT != 0 || (c.writing && events & (mp_EPOLLHUP | mp_EPOLLERR) != 0) { flush(c) }
            if events & (mp_EPOLLIN | mp_EPOLLRDHUP | mp_EPOLLHUP | mp_EPOLLERR) != 0, !c.writing, connections[c.slot] != nil {
                read(c)
            }
        }
    }

    // MARK: connections

    private func accept(_ listener: Int32) {
        while listening {
            let fd = mp_accept(listener)
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors: stop accepting until a connection closes (epoll would wake us at once).
                    logger.warning("cannot accept: \(String(cString: strerror(errno))); accepting again when a connection closes")
                    pauseListening()
                default: break
                }
                return
            }
            let owner = peers.count == 1 ? index : turn.next(of: peers.count)
            if owner == index { adopt(fd) } else { peers[owner].hand(fd) }
        }
    }

    /// Takes a connection on: this loop alone reads, answers and closes it from now on.
    private func adopt(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let slot: Int
        if let free = freeSlots.popLast() { slot = free } else { slot = connections.count; connections.append(nil) }
        connections[slot] = Connection(fd: fd, slot: slot, allocator: allocator)
        _ = mp_epoll_ctl(epoll, mp_EPOLL_CTL_ADD, fd, mp_EPOLLIN | mp_EPOLLRDHUP, UInt64(slot))
        open += 1
        stats.connectionsAccepted.add(1, ordering: .relaxed)
        stats.connectionsOpen.add(1, ordering: .relaxed)
        // Handed over while this loop drains: nothing to answer, so it closes at once.
        if stopDeadline != nil { close(connections[slot]!) }
    }

    private func pauseListening() {
        guard listening else { return }
        listening = false
        for fd in listeners { _ = mp_epoll_ctl(epoll, mp_EPOLL_CTL_DEL, fd, 0, 0) }
    }

    private func resumeListening() {
        guard !listening, stopDeadline == nil else { return }
        listening = true
        for (i, fd) in listeners.enumerated() {
            _ = mp_epoll_ctl(epoll, mp_EPOLL_CTL_ADD, fd, mp_EPOLLIN | mp_EPOLLEXCLUSIVE, Self.listenerTag | UInt64(i))
        }
    }

    /// The most answer bytes held for one connection: past it the requests already read wait in the input buffer
    /// until the client has taken these (a client pipelining requests for large answers cannot make the server hold
    /// them all; reading pauses while they wait).
    static let outputLimit = 4 << 20

    /// Reads what the socket holds (a few reads at most, then the others get their turn), answers the complete frames
    /// (up to ``outputLimit`` of answers), and sends the answers.
    private func read(_ c: Connection) {
        var ended = false
        reads: for _ in 0..<16 {
            c.input.reserveCapacity(minimumWritableBytes: 64 << 10)
            let room = c.input.writableBytes
            let n = c.input.withUnsafeMutableWritableBytes { Glibc.read(c.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                c.input.moveWriterIndex(forwardBy: n)
                guard answer(c) else { return }
                if n < room || c.output.readableBytes >= Self.outputLimit { break }
            } else if n == 0 {
                ended = true
                break
            } else {
                switch errno {
                case EINTR: continue reads
                case EAGAIN, EWOULDBLOCK: break reads
                default:
                    logger.debug("connection error: \(String(cString: strerror(errno)))")
                    close(c)
                    return
                }
            }
        }
        if ended { c.closeWhenWritten = true }
        flush(c)
    }

    /// Answers the complete frames in `input` while `output` holds less than ``outputLimit``; `false` when a bad
    /// frame closed the connection.
    private func answer(_ c: Connection) -> Bool {
        var answered = 0
        defer { stats.answered.add(answered, ordering: .relaxed) }
        do {
            while c.output.readableBytes < Self.outputLimit, let frame = try parser.next(from: &c.input) {
                ServerAnswer.write(frame, into: &c.output, plainBody: plainBody)
                answered += 1
            }
        } catch {
            stats.badFrames.add(1, ordering: .relaxed)
            logger.warning("closing connection from \(Self.peer(c.fd)): \(error)")
            c.broken = true
            c.closeWhenWritten = true
            flush(c)
            return false
        }
        if c.input.readableBytes == 0 {
            c.input.clear()
        } else if c.input.readerIndex > 0 {
            c.input.discardReadBytes()  // what is left (the start of a frame, or requests held back) moves to the front
        }
        return true
    }

    /// Sends what `output` holds, then answers and sends the requests held back by ``outputLimit``; what the socket
    /// does not take waits for `EPOLLOUT` (reading pauses meanwhile).
    private func flush(_ c: Connection) {
        while true {
            while c.output.readableBytes > 0 {
                let n = c.output.withUnsafeReadableBytes { send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n > 0 {
                    c.output.moveReaderIndex(forwardBy: n)
                    continue
                }
                if n < 0, errno == EINTR { continue }
                if n < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                    if !c.writing {
                        c.writing = true
                        _ = mp_epoll_ctl(epoll, mp_EPOLL_CTL_MOD, c.fd, mp_EPOLLOUT, UInt64(c.slot))
                    }
                    return
                }
                close(c)  // reset by the peer, or the like
                return
            }
            c.output.clear()
            guard !c.broken, c.input.readableBytes >= FrameHeader.size else { break }
            guard answer(c) else { return }
            if c.output.readableBytes == 0 { break }
        }
        if c.closeWhenWritten {
            close(c)
        } else if c.writing {
            c.writing = false
            _ = mp_epoll_ctl(epoll, mp_EPOLL_CTL_MOD, c.fd, mp_EPOLLIN | mp_EPOLLRDHUP, UInt64(c.slot))
        }
    }

    private func close(_ c: Connection) {
        guard connections[c.slot] != nil else { return }
        connections[c.slot] = nil
        freeSlots.append(c.slot)
        Glibc.close(c.fd)  // also takes it out of the epoll set
        open -= 1
        stats.connectionsOpen.subtract(1, ordering: .relaxed)
        resumeListening()
    }

    /// Stops accepting; each connection closes once its answers are written (at most `drainTimeout` from now).
    private func stop() {
        guard stopDeadline == nil else { return }
        stopDeadline = .now() + drainTimeout
        pauseListening()
        for case let c? in connections {
            c.closeWhenWritten = true
            if c.output.readableBytes == 0 { close(c) }
        }
    }

    /// `host:port` of the peer, for a log line.
    static func peer(_ fd: Int32) -> String { DirectServer.address(of: fd, peer: true)?.description ?? "unknown peer" }
}
#endif
