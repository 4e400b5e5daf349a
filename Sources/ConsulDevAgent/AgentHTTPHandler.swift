import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP connection to the agent: collects each request, routes it, writes the answer (later, for a
/// blocking query).
package final class AgentHTTPHandler: ChannelInboundHandler {
    package typealias InboundIn = HTTPServerRequestPart
    package typealias OutboundOut = HTTPServerResponsePart

    private let router: AgentRouter
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var pending: UInt64?  // a blocking query's waiter token
    private var pendingTopic: AgentState.Topic?

    package init(router: AgentRouter) { self.router = router }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(h):
            head = h
            body = nil
        case var .body(chunk):
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard let head else { return }
            self.head = nil
            let request = AgentRequest(head: head, body: body)
            body = nil
            reply(router.handle(request), keepAlive: head.isKeepAlive, version: head.version, context: context)
        }
    }

    package func channelInactive(context: ChannelHandlerContext) {
        if let token = pending, let topic = pendingTopic { router.state.cancelWaiter(token, topic: topic) }
        pending = nil
        context.fireChannelInactive()
    }

    private func reply(_ reply: AgentReply, keepAlive: Bool, version: HTTPVersion, context: ChannelHandlerContext) {
        switch reply {
        case let .response(status, headers, body):
            write(status: status, headers: headers, body: body.map { ByteBuffer(string: $0) }, keepAlive: keepAlive, version: version, context: context)
        case let .binary(status, headers, body):
            write(status: status, headers: headers, body: ByteBuffer(bytes: body), keepAlive: keepAlive, version: version, context: context)
        case let .block(topic, wait, ready, render):
            // Answered once: when the topic changes so that the answer's index exceeds the client's, or when `wait`
            // ends. A change that leaves it unready (another key of the store) waits again.
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            let token = router.state.nextToken()
            pending = token
            pendingTopic = topic
            let state = router.state
            @Sendable func finish() {
                state.cancelWaiter(token, topic: topic)
                bound.value.0.finishBlocking(token: token, render: render, keepAlive: keepAlive, version: version, context: bound.value.1)
            }
            @Sendable func arm() {
                state.addWaiter(topic: topic, token: token) { loop.execute { ready() ? finish() : arm() } }
                // A change between the wake-up and this waiter's return would have found no one to wake.
                if ready() { loop.execute { finish() } }
            }
            arm()
            loop.scheduleTask(in: wait) {
                let (handler, context) = bound.value
                handler.router.state.cancelWaiter(token, topic: topic)
                handler.finishBlocking(token: token, render: render, keepAlive: keepAlive, version: version, context: context)
            }
        }
    }

    private func finishBlocking(token: UInt64, render: @Sendable () -> AgentReply, keepAlive: Bool, version: HTTPVersion, context: ChannelHandlerContext) {
        guard pending == token else { return }
        pending = nil
        pendingTopic = nil
        reply(render(), keepAlive: keepAlive, version: version, context: context)
    }

    private func write(status: HTTPResponseStatus, headers: [(String, String)], body bytes: ByteBuffer?, keepAlive: Bool, version: HTTPVersion, context: ChannelHandlerContext) {
        var h = HTTPHeaders(headers)
        h.add(name: "Content-Length", value: String(bytes?.readableBytes ?? 0))
        h.add(name: "Date", value: httpDate())
        var head = HTTPResponseHead(version: version, status: status, headers: h)
        head.headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let bytes { context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { done.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }
}

/// The current time in RFC 7231's format, as Go's server sends it.
func httpDate() -> String {
    var t = time(nil)
    var tm = tm()
    gmtime_r(&t, &tm)
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
}
