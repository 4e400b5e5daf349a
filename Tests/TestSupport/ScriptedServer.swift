import Glibc
import MindAlphaWire
import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
import Synchronization

/// A misbehaving instance for fault tests: each request frame is answered by a script on 127.0.0.1, port 0.
public final class ScriptedServer: Sendable {
    /// What to do with one request.
    public enum Reply: Sendable {
        /// A well-formed response with this ID and body.
        case respond(id: UInt64, body: ByteBuffer)
        /// These bytes, as they are.
        case raw(ByteBuffer)
        /// Close the connection (EOF).
        case close
        /// Reset the connection (RST).
        case reset
        /// These bytes, one every `interval` (a peer that answers at a trickle).
        case trickle(ByteBuffer, every: TimeAmount)
    }

    public let port: Int
    private let channel: Channel
    private let accepted: Accepted

    /// Counts connections accepted (for ``mute()``): what a test waits on to know a client is connected.
    final class Accepted: Sendable {
        private let count = Atomic<Int>(0)
        func add() { count.add(1, ordering: .relaxed) }
        var value: Int { count.load(ordering: .relaxed) }
    }

    private init(port: Int, channel: Channel, accepted: Accepted = Accepted()) {
        self.port = port
        self.channel = channel
        self.accepted = accepted
    }

    /// Connections accepted so far (counted by ``mute()`` servers).
    public var connections: Int { accepted.value }

    /// Starts a server; `script` gets each request frame and returns the replies, in order.
    public static func start(_ script: @escaping @Sendable (Frame) -> [Reply]) async throws -> ScriptedServer {
        try await start(perConnection: { script })
    }

    /// Starts a server whose script is made anew for each connection (so it can count that connection's requests).
    public static func start(perConnection make: @escaping @Sendable () -> @Sendable (Frame) -> [Reply]) async throws -> ScriptedServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder.requests()), Handler(script: make()))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedServer(port: channel.localAddress!.port!, channel: channel)
    }

    /// Holds a ``gated(_:)`` server's answers until the test opens it: a request stays in flight exactly as long
    /// as the test needs, whatever the machine's load.
    public final class Gate: Sendable {
        private let state = NIOLockedValueBox<(open: Bool, held: [(Channel, UInt64)])>((false, []))

        public init() {}

        /// Answers everything held, and everything after at once.
        public func open() {
            let held = state.withLockedValue { s in
                s.open = true
                defer { s.held = [] }
                return s.held
            }
            for (channel, id) in held { Gate.answer(channel, id) }
        }

        func hold(_ channel: Channel, _ id: UInt64) {
            let now = state.withLockedValue { s -> Bool in
                if s.open { return true }
                s.held.append((channel, id))
                return false
            }
            if now { Gate.answer(channel, id) }
        }

        static func answer(_ channel: Channel, _ id: UInt64) {
            var out = ByteBuffer()
            out.writeResponseFrame(requestID: id, body: ByteBuffer(string: "ok"))
            channel.writeAndFlush(out, promise: nil)
        }
    }

    /// A server that answers each request with `ok`, once `gate` is open.
    public static func gated(_ gate: Gate) async throws -> ScriptedServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(ByteToMessageHandler(FrameDecoder.requests()), GateHandler(gate: gate))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedServer(port: channel.localAddress!.port!, channel: channel)
    }

    private final class GateHandler: ChannelInboundHandler {
        typealias InboundIn = Frame
        let gate: Gate
        init(gate: Gate) { self.gate = gate }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            gate.hold(context.channel, unwrapInboundIn(data).requestID)
        }
    }

    /// A server that accepts connections and never reads from them (what is sent piles up in the socket buffers).
    public static func deaf() async throws -> ScriptedServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { channel in channel.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedServer(port: channel.localAddress!.port!, channel: channel)
    }

    /// A server that resets every connection as soon as it is accepted.
    public static func resetting() async throws -> ScriptedServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                ScriptedServer.reset(channel)
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedServer(port: channel.localAddress!.port!, channel: channel)
    }

    /// A server that accepts connections and never answers or closes them.
    public static func mute() async throws -> ScriptedServer {
        let accepted = Accepted()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                accepted.add()
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedServer(port: channel.localAddress!.port!, channel: channel, accepted: accepted)
    }

    /// A loopback port that refuses connections and that no other test can take: a socket is bound to it and never
    /// listens, and stays open for the life of the test process (a closed port could be handed to a parallel test's
    /// server the next moment).
    public static func closedPort() async throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Tool.ToolError("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw Tool.ToolError("bind() on 127.0.0.1 failed: errno \(errno)")
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Closes with SO_LINGER 0, so the peer sees a reset.
    static func reset(_ channel: Channel) {
        guard let provider = channel as? SocketOptionProvider else { channel.close(promise: nil); return }
        provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
    }

    public func stop() async {
        try? await channel.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = Frame
        typealias OutboundOut = ByteBuffer
        let script: @Sendable (Frame) -> [Reply]

        init(script: @escaping @Sendable (Frame) -> [Reply]) { self.script = script }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            for reply in script(unwrapInboundIn(data)) {
                switch reply {
                case let .respond(id, body):
                    var out = context.channel.allocator.buffer(capacity: 40 + body.readableBytes)
                    out.writeResponseFrame(requestID: id, body: body)
                    context.writeAndFlush(wrapOutboundOut(out), promise: nil)
                case let .raw(bytes):
                    context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
                case .close:
                    context.close(promise: nil)
                    return
                case .reset:
                    ScriptedServer.reset(context.channel)
                    return
                case let .trickle(bytes, interval):
                    let channel = context.channel
                    for (i, byte) in bytes.readableBytesView.enumerated() {
                        channel.eventLoop.scheduleTask(in: interval * Int64(i + 1)) {
                            channel.writeAndFlush(ByteBuffer(bytes: [byte]), promise: nil)
                        }
                    }
                }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            context.close(promise: nil)
        }
    }
}

