import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Runs the agent's checks: TTL checks expire to critical, TCP checks connect and HTTP checks GET on their
/// interval, and a service whose check stays critical past `DeregisterCriticalServiceAfter` is removed.
final class CheckRunner: Sendable {
    private let state: AgentState
    private let group: EventLoopGroup
    private let tasks = NIOLockedValueBox<[String: Scheduled<Void>]>([:])
    private let probes = NIOLockedValueBox<[String: RepeatedTask]>([:])

    init(state: AgentState, group: EventLoopGroup) {
        self.state = state
        self.group = group
    }

    struct Problem: Error { var message: String }

    /// A check from a registration's `Check`/`Checks` entry, or what is wrong with it (Consul's wording).
    static func parse(_ d: CaseInsensitive, defaultID: String, service: AgentState.Service) -> Result<AgentState.Check, Problem> {
        func duration(_ key: String) -> Result<Duration?, Problem> {
            guard let text = d.string(key), !text.isEmpty else { return .success(nil) }
            guard let value = GoDuration.parse(text) else { return .failure(Problem(message: "\(key) '\(text)' is not a valid duration")) }
            return .success(value)
        }
        let ttl: Duration?, interval: Duration?, timeout: Duration?, reap: Duration?
        switch (duration("TTL"), duration("Interval"), duration("Timeout"), duration("DeregisterCriticalServiceAfter")) {
        case let (.success(a), .success(b), .success(c), .success(e)): (ttl, interval, timeout, reap) = (a, b, c, e)
        case let (.failure(p), _, _, _), let (_, .failure(p), _, _), let (_, _, .failure(p), _), let (_, _, _, .failure(p)):
            return .failure(p)
        }
        let tcp = d.string("TCP").flatMap { $0.isEmpty ? nil : $0 }
        let http = d.string("HTTP").flatMap { $0.isEmpty ? nil : $0 }
        for unsupported in ["Args", "ScriptArgs", "GRPC", "H2PING", "DockerContainerID", "AliasService", "OSService", "UDP"] where d.string(unsupported) != nil || d.strings(unsupported) != nil {
            return .failure(Problem(message: "\(unsupported) checks are not implemented by consul-dev (TTL, TCP and HTTP are)"))
        }
        let kind: AgentState.Check.Kind
        switch (ttl, tcp, http) {
        case (_?, nil, nil): kind = .ttl
        case (nil, _?, nil): kind = .tcp
        case (nil, nil, _?): kind = .http
        case (nil, nil, nil): return .failure(Problem(message: "TTL must be > 0 for TTL checks"))
        default: return .failure(Problem(message: "a check must be exactly one of TTL, TCP or HTTP"))
        }
        if kind != .ttl, (interval ?? .zero) <= .zero {
            return .failure(Problem(message: "Interval must be > 0 for Script, HTTP, H2PING, or TCP checks"))
        }
        if kind == .ttl, (ttl ?? .zero) <= .zero { return .failure(Problem(message: "TTL must be > 0 for TTL checks")) }
        let status = d.string("Status").flatMap { $0.isEmpty ? nil : $0 } ?? "critical"
        guard ["passing", "warning", "critical"].contains(status) else {
            return .failure(Problem(message: "Status '\(status)' must be passing, warning or critical"))
        }
        let id = (d.string("CheckID") ?? d.string("ID")).flatMap { $0.isEmpty ? nil : $0 } ?? defaultID
        return .success(AgentState.Check(
            id: id, name: d.string("Name").flatMap { $0.isEmpty ? nil : $0 } ?? "Service '\(service.name)' check",
            serviceID: service.id, serviceName: service.name, serviceTags: service.tags, kind: kind,
            status: status, output: "", notes: d.string("Notes") ?? "",
            interval: interval.map(GoDuration.format) ?? "", timeout: timeout.map(GoDuration.format) ?? "",
            ttl: ttl, target: tcp ?? http, deregisterCriticalAfter: reap, criticalSince: nil,
            createIndex: 0, modifyIndex: 0))
    }

    /// Starts what a new check needs: a TTL timer, or a probe on its interval.
    func start(_ check: AgentState.Check) {
        stop(check.id)
        switch check.kind {
        case .ttl: resetTTL(check)
        case .tcp, .http:
            let interval = GoDuration.parse(check.interval) ?? .seconds(10)
            let timeout = GoDuration.parse(check.timeout) ?? .seconds(10)
            let id = check.id, target = check.target ?? "", kind = check.kind
            let task = group.next().scheduleRepeatedAsyncTask(initialDelay: .zero, delay: TimeAmount(interval)) { [self] _ in
                let loop = group.next()
                let probe = kind == .tcp ? Self.probeTCP(target, timeout: timeout, on: loop) : Self.probeHTTP(target, timeout: timeout, on: loop)
                return probe.map { status, output in
                    self.state.update(checkID: id, status: status, output: output)
                    self.reapIfCritical(id)
                }
            }
            probes.withLockedValue { $0[check.id] = task }
        case .node: break
        }
    }

    /// Restarts a TTL check's timer: when it runs out with no update, the check turns critical.
    func resetTTL(_ check: AgentState.Check) {
        guard let ttl = check.ttl else { return }
        let id = check.id
        let task = group.next().scheduleTask(in: TimeAmount(ttl)) { [self] in
            state.update(checkID: id, status: "critical", output: "TTL expired")
            reapIfCritical(id)
        }
        tasks.withLockedValue { $0.updateValue(task, forKey: id)?.cancel() }
        if check.deregisterCriticalAfter != nil { scheduleReap(id, after: check.deregisterCriticalAfter!) }
    }

    private func scheduleReap(_ id: String, after: Duration) {
        _ = group.next().scheduleTask(in: TimeAmount(after) + .milliseconds(10)) { [self] in reapIfCritical(id) }
    }

    /// Deregisters the check's service when it has been critical longer than `DeregisterCriticalServiceAfter`.
    private func reapIfCritical(_ id: String) {
        guard let check = state.check(id), let after = check.deregisterCriticalAfter else { return }
        guard let since = check.criticalSince else { return }
        if ContinuousClock.now - since >= after {
            let ids = state.allChecks().filter { $0.serviceID == check.serviceID }.map(\.id)
            _ = state.deregister(serviceID: check.serviceID)
            ids.forEach(stop)
        } else {
            scheduleReap(id, after: after - (ContinuousClock.now - since))
        }
    }

    func stop(_ id: String) {
        tasks.withLockedValue { $0.removeValue(forKey: id)?.cancel() }
        probes.withLockedValue { $0.removeValue(forKey: id)?.cancel() }
    }

    func stopAll() {
        tasks.withLockedValue { t in t.values.forEach { $0.cancel() }; t.removeAll() }
        probes.withLockedValue { p in p.values.forEach { $0.cancel() }; p.removeAll() }
    }

    /// Connects to `host:port`: passing on success, critical with the error otherwise (Consul's wording).
    static func probeTCP(_ target: String, timeout: Duration, on loop: EventLoop) -> EventLoopFuture<(String, String)> {
        guard let (host, port) = split(target) else {
            return loop.makeSucceededFuture(("critical", "dial tcp \(target): missing port in address"))
        }
        return ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(timeout))
            .connect(host: host, port: port)
            .flatMap { channel in channel.close().map { ("passing", "TCP connect \(target): Success") } }
            .flatMapErrorWithEventLoop { error, loop in
                loop.makeSucceededFuture(("critical", "dial tcp \(target): \(describe(error))"))
            }
    }

    /// GETs `url` (http only): 2xx passing, 429 warning, anything else critical.
    static func probeHTTP(_ url: String, timeout: Duration, on loop: EventLoop) -> EventLoopFuture<(String, String)> {
        guard url.hasPrefix("http://") else {
            return loop.makeSucceededFuture(("critical", "Get \"\(url)\": only http:// URLs are probed by consul-dev"))
        }
        let rest = url.dropFirst("http://".count)
        let authority = String(rest.prefix { $0 != "/" })
        let path = rest.dropFirst(authority.count)
        guard let (host, port) = split(authority.contains(":") ? authority : authority + ":80") else {
            return loop.makeSucceededFuture(("critical", "Get \"\(url)\": invalid address"))
        }
        let promise = loop.makePromise(of: HTTPResponseStatus.self)
        let deadline = loop.scheduleTask(in: TimeAmount(timeout)) { promise.fail(ChannelError.connectTimeout(TimeAmount(timeout))) }
        ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(StatusReader(promise: promise))
                }
            }
            .connect(host: host, port: port)
            .whenComplete { result in
                switch result {
                case let .success(channel):
                    var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path.isEmpty ? "/" : String(path))
                    head.headers.add(name: "Host", value: authority)
                    head.headers.add(name: "User-Agent", value: "Consul Health Check")
                    head.headers.add(name: "Connection", value: "close")
                    channel.write(HTTPClientRequestPart.head(head), promise: nil)
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                case let .failure(error):
                    promise.fail(error)
                }
            }
        return promise.futureResult.map { status -> (String, String) in
            deadline.cancel()
            let line = "HTTP GET \(url): \(status.code) \(status.reasonPhrase)"
            switch status.code {
            case 200..<300: return ("passing", line)
            case 429: return ("warning", line)
            default: return ("critical", line)
            }
        }.flatMapErrorWithEventLoop { error, loop in
            deadline.cancel()
            return loop.makeSucceededFuture(("critical", "Get \"\(url)\": \(describe(error))"))
        }
    }

    private final class StatusReader: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<HTTPResponseStatus>
        init(promise: EventLoopPromise<HTTPResponseStatus>) { self.promise = promise }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case let .head(head) = unwrapInboundIn(data) { promise.succeed(head.status) }
        }
        func channelInactive(context: ChannelHandlerContext) { promise.fail(ChannelError.eof) }
        func errorCaught(context: ChannelHandlerContext, error: Error) { promise.fail(error) }
    }

    static func split(_ target: String) -> (String, Int)? {
        guard let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...]) else { return nil }
        var host = String(target[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? NIOConnectionError, let first = e.connectionErrors.first?.error { return describe(first) }
        if let io = error as? IOError, io.errnoCode == ECONNREFUSED { return "connect: connection refused" }
        if error is ChannelError { return "i/o timeout" }
        return "\(error)"
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (s, atto) = duration.components
        self = .nanoseconds(s * 1_000_000_000 + atto / 1_000_000_000)
    }
}
