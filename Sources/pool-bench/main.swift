// make perf: the pool's own cost, and its scale.
//   pool-bench closed-loop [--port P] [--conns C] [--payload B] [--seconds S] [--engine nio|direct]
//       (defaults from REF_* as compare.sh sets) one loop, one instance, C connections with one request in flight
//       each, through ConnectionPool.submit; prints rps=N
//   pool-bench scale --port P --instances K --conns C [--engine nio|direct]
//       C connections to each of K consecutive ports (serve --port P --instances K); prints RSS per connection
import Foundation
import MindAlphaBench
import MindAlphaPool
import NIOCore
import NIOPosix
import MindAlphaWire
import Synchronization

final class BareCounter: Sendable { let n = Atomic<Int>(0) }

final class BareHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    var out = ByteBuffer()
    var id: UInt64 = 0
    let counter: BareCounter
    let parser = FrameParser(direction: .response)
    var partial: ByteBuffer?
    init(payload: Int, counter: BareCounter) {
        out.writeRequestFrame(requestID: 0, body: ByteBuffer(repeating: 0x61, count: payload))
        self.counter = counter
    }
    func channelActive(context: ChannelHandlerContext) { send(context) }
    func send(_ context: ChannelHandlerContext) {
        id += 1
        out.setInteger(id, at: 24, endianness: .little)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        if partial != nil { partial!.writeBuffer(&input); input = partial!; partial = nil }
        while let _ = try! parser.next(from: &input) { counter.n.add(1, ordering: .relaxed); send(context) }
        if input.readableBytes > 0 { partial = input }
    }
}

func option(_ name: String, _ env: String? = nil, default value: Int) -> Int {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: "--\(name)"), i + 1 < args.count, let v = Int(args[i + 1]) { return v }
    if let env, let text = ProcessInfo.processInfo.environment[env], let v = Int(text) { return v }
    return value
}

func seconds(_ name: String, _ env: String, default value: Double) -> Double {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: "--\(name)"), i + 1 < args.count, let v = Double(args[i + 1]) { return v }
    if let text = ProcessInfo.processInfo.environment[env], let v = Double(text) { return v }
    return value
}

func rssKiB() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("pool-bench: \(message)\n".utf8))
    exit(1)
}

func waitForConnections(_ pool: ConnectionPool, _ expected: Int, timeout: Duration = .seconds(30)) async {
    let end = ContinuousClock.now + timeout
    while pool.statistics().openConnections < expected {
        if ContinuousClock.now > end {
            fail("only \(pool.statistics().openConnections) of \(expected) connections opened within \(timeout)")
        }
        try? await Task.sleep(for: .milliseconds(10))
    }
}

func instances(port: Int, count: Int) -> [Instance] {
    (0..<count).map { Instance(host: "127.0.0.1", port: port + $0, serviceID: "bench-\($0)") }
}

/// `--engine nio|direct` (nio when not given).
func engine() -> PoolEngine {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: "--engine") else { return .nio }
    switch i + 1 < args.count ? args[i + 1] : "" {
    case "nio": return .nio
    case "direct": return .direct(threads: 1)
    default: fail("--engine takes nio or direct")
    }
}

let mode = CommandLine.arguments.dropFirst().first ?? ""
switch mode {
case "closed-loop":
    let port = option("port", "REF_PORT", default: 17777)
    let conns = option("conns", "REF_CONNS", default: 30)
    let payload = option("payload", "REF_PAYLOAD", default: 64)
    let duration = seconds("seconds", "REF_SECONDS", default: 5)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let configuration = PoolConfiguration(
        source: .fixed(instances(port: port, count: 1)), maxConnectionsPerInstance: conns, maxInFlightPerConnection: 1,
        engine: engine())
    let pool: ConnectionPool
    do { pool = try await ConnectionPool.start(configuration, eventLoopGroup: group) } catch { fail("\(error)") }
    await waitForConnections(pool, conns)
    let driver = ClosedLoopDriver(pool: pool, body: ByteBuffer(repeating: 0x61, count: payload))
    driver.start(concurrency: conns)
    try await Task.sleep(for: .milliseconds(500))
    let start = driver.counts
    let began = ContinuousClock.now
    try await Task.sleep(for: .milliseconds(Int(duration * 1000)))
    let end = driver.counts
    let elapsed = ContinuousClock.now - began
    driver.stop()
    let secondsTaken = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let rps = Double(end.ok - start.ok) / secondsTaken
    print("rps=\(Int(rps)) failed=\(end.failed - start.failed)")
    await pool.shutdown(deadline: .seconds(2))
    try await group.shutdownGracefully()
case "scale":
    let port = option("port", default: 0)
    let count = option("instances", default: 100)
    let conns = option("conns", default: 100)
    guard port > 0 else { fail("scale needs --port P (serve --port P --instances K)") }
    let needed = count * conns + 64
    let limit = FileLimit.raise(to: needed)
    if limit < needed { fail("open-file limit \(limit) is below the \(needed) needed; raise it with ulimit -n") }
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let configuration = PoolConfiguration(
        source: .fixed(instances(port: port, count: count)), maxConnectionsPerInstance: conns,
        connectTimeout: .seconds(10), engine: engine())
    let before = rssKiB()
    let pool: ConnectionPool
    do { pool = try await ConnectionPool.start(configuration, eventLoopGroup: group) } catch { fail("\(error)") }
    let began = ContinuousClock.now
    await waitForConnections(pool, count * conns, timeout: .seconds(60))
    let opened = ContinuousClock.now - began
    // One request per connection, so each has had its buffers touched.
    for _ in 0..<(count * conns / 100) {
        _ = try? await withThrowingTaskGroup(of: Void.self) { tasks in
            for _ in 0..<100 { tasks.addTask { _ = try await pool.send(ByteBuffer(repeating: 1, count: 64)) } }
            try await tasks.waitForAll()
        }
    }
    let after = rssKiB()
    let stats = pool.statistics()
    let open = stats.openConnections
    print("connections=\(open) opened_in=\(opened) ok=\(stats.totals.ok) failed=\(stats.totals.failed)")
    print("rss_before_kib=\(before) rss_after_kib=\(after) rss_per_connection_kib=\(String(format: "%.1f", Double(after - before) / Double(max(open, 1))))")
    await pool.shutdown(deadline: .seconds(5))
    try await group.shutdownGracefully()
case "bare":
    // The ceiling: a handler that rewrites the request ID in one reused buffer and resends from channelRead.
    let port = option("port", "REF_PORT", default: 17777)
    let conns = option("conns", "REF_CONNS", default: 30)
    let payload = option("payload", "REF_PAYLOAD", default: 64)
    let duration = seconds("seconds", "REF_SECONDS", default: 5)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let counter = BareCounter()
    var channels: [Channel] = []
    for _ in 0..<conns {
        channels.append(try await ClientBootstrap(group: group).channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(BareHandler(payload: payload, counter: counter)) } }
            .connect(host: "127.0.0.1", port: port).get())
    }
    try await Task.sleep(for: .milliseconds(500))
    let a = counter.n.load(ordering: .relaxed)
    try await Task.sleep(for: .milliseconds(Int(duration * 1000)))
    let b = counter.n.load(ordering: .relaxed)
    print("rps=\(Int(Double(b - a) / duration))")
    for c in channels { c.close(promise: nil) }
    try await group.shutdownGracefully()
default:
    fail("usage: pool-bench closed-loop [--port P] [--conns C] [--payload B] [--seconds S] [--engine nio|direct] | scale --port P --instances K --conns C [--engine nio|direct] | bare")
}
