import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// An HTTP server on 127.0.0.1, port 0, that answers every request with one canned response and records
/// what it was asked: for the client's tests against the fixtures and against broken servers.
final class CannedHTTPServer: Sendable {
    struct Canned: Sendable {
        var status: HTTPResponseStatus
        var headers: [(String, String)]
        var body: String
    }

    let port: Int
    private let channel: Channel
    private let seen = Mutex<[HTTPRequestHead]>([])

    var requests: [HTTPRequestHead] { seen.withLock { $0 } }

    private init(port: Int, channel: Channel) {
        self.port = port
        self.channel = channel
    }

    /// Starts answering; with `tls`, over https.
    static func start(_ canned: Canned, tls: NIOSSLContext? = nil) async throws -> CannedHTTPServer {
        let log = Log()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(canned: canned, log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = CannedHTTPServer(port: channel.localAddress!.port!, channel: channel)
        log.server.withLock { $0 = server }
        return server
    }

    func record(_ head: HTTPRequestHead) { seen.withLock { $0.append(head) } }

    func shutdown() async { try? await channel.close() }

    final class Log: Sendable { let server = Mutex<CannedHTTPServer?>(nil) }

    final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let canned: Canned
        let log: Log
        init(canned: Canned, log: Log) {
            self.canned = canned
            self.log = log
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case let .head(head): log.server.withLock { $0?.record(head) }
            case .body: break
            case .end:
                var headers = HTTPHeaders(canned.headers)
                headers.add(name: "Content-Length", value: String(canned.body.utf8.count))
                context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: canned.status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: canned.body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
