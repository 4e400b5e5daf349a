import CommandLineKit
import Foundation
import MindAlphaPool
import MindAlphaWire
import NIOCore
import NIOPosix
import Synchronization

/// `mindalpha-pool bench`: load through the pool, closed or open loop, with a report that stands beside wrk2's.
enum BenchCommand {
    static let spec = CommandSpec(
        name: "bench",
        summary: "load a fleet through the pool: throughput, latency percentiles, per-instance shares",
        discussion: """
        Closed loop (the default): --concurrency requests in flight in total (default: one per connection), each \
        answer sending the next. Open loop (--rate): requests sent on a fixed schedule, latency measured from each \
        request's intended send time (coordinated omission corrected; the uncorrected figures are shown beside), \
        optionally ramping from --rate-ramp to --rate. Instances come from Consul (--service, followed during the run: \
        joins and leaves are reported) or from --target. The body is --payload-size random bytes (default 64), a file, \
        hex, or a real prediction request (--model with --features and --columns). Progress goes to stderr when it \
        is a terminal; the report goes to stdout (--json: one document with a top-level "rps"). A breached --fail-if \
        exits 2 after the report; a run in which no request succeeded exits 1.
        """,
        options: [
            OptionSpec("conns", short: "c", .integer(1...10_000), help: "Connections per instance.", default: "30", valueName: "N"),
            OptionSpec("concurrency", .integer(1...1_000_000), help: "Requests in flight in total, closed loop (default: conns × instances).", valueName: "N"),
            OptionSpec("rate", short: "r", .rate, help: "Open loop: requests per second (5000, 5k, 1.5M).", valueName: "RATE"),
            OptionSpec("rate-ramp", .rate, help: "Open loop: start at this rate and rise linearly to --rate over the duration.", valueName: "RATE"),
            OptionSpec("duration", short: "d", .duration, help: "How long to measure (default 10s; not with --requests).", valueName: "DURATION"),
            OptionSpec("requests", short: "n", .integer(1...Int.max), help: "Stop after this many requests instead of a duration.", valueName: "N"),
            OptionSpec("warmup", .duration, help: "Run this long first without recording.", default: "0s"),
            OptionSpec("timeout", .duration, help: "Per-request timeout.", default: "1s"),
            OptionSpec("connect-timeout", .duration, help: "TCP connect timeout.", default: "1s"),
            OptionSpec("payload-size", .size, help: "Body of this many random bytes.", default: "64"),
            OptionSpec("payload-file", .path, help: "Body: this file's bytes, as they are."),
            OptionSpec("payload-hex", .string, help: "Body: these bytes in hex (spaces allowed).", valueName: "HEX"),
            OptionSpec("model", .string, help: "Send prediction requests for this model (with --features and --columns); answers without scores count as errors.", valueName: "NAME"),
            OptionSpec("features", .path, help: "Feature rows in the Go client's CSV format (\\u0002 between fields, \\u0001 between values)."),
            OptionSpec("columns", .path, help: "Column names, one per line (or \\u0002-separated), for --features."),
            OptionSpec("rows", .integer(1...10_000), help: "Feature rows per request.", default: "1"),
            OptionSpec("algorithm", .choice(SchedulingAlgorithm.allCases.map(\.rawValue)), help: "Weighted round robin: lvs (what production clients do) or smooth.", default: "lvs"),
            OptionSpec("in-flight-per-conn", .integer(1...100_000), help: "Requests multiplexed on one connection before a request waits.", default: "64"),
            OptionSpec("threads", .integer(1...256), help: "Event-loop threads.", default: "1"),
            OptionSpec("fail-if", .string, help: "Exit 2 if this holds: p99>5ms, errors>0.1%, rps<10000, share-deviation>5% (repeatable).", repeatable: true, valueName: "EXPR"),
            OptionSpec("json", .flag, help: "The report as one JSON document (stable keys, histogram buckets for report merge)."),
            OptionSpec("quiet", short: "q", .flag, help: "No progress lines."),
        ] + ConsulOptions.serviceSpecs + ConsulOptions.specs,
        examples: [
            "mindalpha-pool bench --service ms-serving --conns 30 --duration 30s",
            "mindalpha-pool bench --target 127.0.0.1:9000 --rate 20k --duration 1m --fail-if 'p99>5ms'",
            "mindalpha-pool bench --service ms-serving --model demo_model --features rows.csv --columns names.txt --json > run.json",
        ])

    static func run(_ args: ParsedArguments) async throws -> ExitCode {
        let name = spec.name
        let thresholds = try args.strings("fail-if").map { text in
            do { return try Threshold(parsing: text) } catch { throw UsageError("--fail-if: \(error)", command: name) }
        }
        let (body, validate) = try Payload.make(args, command: name)
        let source = try source(args)
        var plan = try plan(args, defaultConcurrency: 1)
        let conns = args.integer("conns")!
        let timeout = args.duration("timeout")!
        guard timeout > .zero else { throw UsageError("--timeout must be above 0", command: name) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: args.integer("threads")!)
        let pool: ConnectionPool
        do {
            pool = try await ConnectionPool.start(
                PoolConfiguration(
                    source: source, maxConnectionsPerInstance: conns,
                    maxInFlightPerConnection: args.integer("in-flight-per-conn")!,
                    connectTimeout: args.duration("connect-timeout")!, requestTimeout: timeout,
                    algorithm: SchedulingAlgorithm(rawValue: args.string("algorithm")!)!),
                eventLoopGroup: group, logger: Logs.make("pool"))
        } catch {
            try? await group.shutdownGracefully()
            throw CommandError(error.description, code: .unavailable)
        }
        let instances = pool.statistics().instances.count
        if case .closed = plan.mode, !args.isSet("concurrency") { plan.mode = .closed(concurrency: conns * instances) }
        // Let the connections come up before the clock starts (they are opened at once; a dead instance's fail fast).
        let ready = ContinuousClock.now + args.duration("connect-timeout")! + .milliseconds(100)
        while ContinuousClock.now < ready {
            let s = pool.statistics()
            if s.instances.allSatisfy({ $0.connecting == 0 }) { break }
            try? await Task.sleep(for: .milliseconds(5))
        }
        let engine = LoadEngine(pool: pool, plan: plan, body: body, eventLoop: group.next(), validate: validate)
        let progress = Progress(enabled: !args.flag("quiet") && isatty(STDERR_FILENO) == 1)
        var tracker = FleetTracker(pool.statistics())
        let started = ContinuousClock.now
        engine.start()
        let interrupted = await runUntilDone(engine) {
            tracker.update(pool.statistics(), at: ContinuousClock.now - started)
            progress.show(engine.result(), elapsed: ContinuousClock.now - started)
        }
        progress.clear()
        let result = await engine.finish()
        tracker.update(pool.statistics(), at: ContinuousClock.now - started)
        await pool.shutdown(deadline: .seconds(2))
        try? await group.shutdownGracefully()
        var report = BenchReport(result: result, plan: plan, weights: tracker.weights, events: tracker.events)
        if let target = report.targetRps, case .open(_, nil) = plan.mode, report.rps < target * 0.99 {
            let note = "achieved \(Int(report.rps)) req/s of the \(Int(target)) asked for: the fleet or this client is saturated"
            report.events.append(note)
            Output.err("\(Program.spec.name) bench: warning: \(note)")
        }
        if interrupted { report.events.append("interrupted: the report covers the run until then") }
        Output.out(args.flag("json") ? report.json : BenchText.render(report, heading: BenchText.heading(plan: plan, conns: conns, instances: report.instances.count, bodySize: body.readableBytes), lastErrors: result.lastError))
        if interrupted { return .interrupted }
        if report.requests > 0, report.ok == 0 {
            let cause = result.lastError.sorted { $0.key < $1.key }.first.map { ": \($0.value)" } ?? ""
            Output.err("\(Program.spec.name) bench: no request succeeded\(cause)")
            return .failure
        }
        let breached = thresholds.filter { $0.isBreached(by: report) }
        for t in breached {
            Output.err("\(Program.spec.name) bench: --fail-if \(t) breached: \(t.metric.rawValue) is \(BenchText.format(t, t.measured(in: report)))")
        }
        return breached.isEmpty ? .success : .thresholdBreached
    }

    /// Waits until the plan is done (or SIGINT/SIGTERM, then returns true), calling `tick` once a second.
    static func runUntilDone(_ engine: LoadEngine, tick: () -> Void) async -> Bool {
        let interrupted = Interrupted()
        // Not a child task: waiting for a signal cannot be cancelled, and a task group would wait for it.
        Task.detached {
            _ = await Signals.waitForTermination()
            interrupted.set()
        }
        var next = ContinuousClock.now + .seconds(1)
        while !engine.isComplete, !interrupted.isSet {
            try? await Task.sleep(for: .milliseconds(20))
            if ContinuousClock.now >= next {
                tick()
                next += .seconds(1)
            }
        }
        return interrupted.isSet
    }

    static func plan(_ args: ParsedArguments, defaultConcurrency: Int) throws -> LoadPlan {
        let name = spec.name
        if args.isSet("duration"), args.isSet("requests") {
            throw UsageError("give --duration or --requests, not both", command: name)
        }
        let stop: LoadPlan.Stop = args.integer("requests").map { .requests($0) } ?? .duration(args.duration("duration") ?? .seconds(10))
        if case let .duration(d) = stop, d <= .zero { throw UsageError("--duration must be above 0", command: name) }
        let mode: LoadPlan.Mode
        if let rate = args.rate("rate") {
            guard rate > 0 else { throw UsageError("--rate must be above 0", command: name) }
            if args.isSet("concurrency") { throw UsageError("--concurrency is for a closed loop; an open loop (--rate) sends on a schedule", command: name) }
            let from = args.rate("rate-ramp")
            if from != nil, case .requests = stop { throw UsageError("--rate-ramp needs --duration (the ramp spans it)", command: name) }
            mode = .open(rate: rate, from: from)
        } else {
            if args.isSet("rate-ramp") { throw UsageError("--rate-ramp needs --rate (the rate it ramps to)", command: name) }
            mode = .closed(concurrency: args.integer("concurrency") ?? max(1, defaultConcurrency))
        }
        return LoadPlan(mode: mode, stop: stop, warmup: args.duration("warmup")!, timeout: args.duration("timeout")!)
    }

    static func source(_ args: ParsedArguments) throws -> PoolConfiguration.Source {
        let name = spec.name
        let targets = try ConsulOptions.targets(args, command: name)
        if !targets.isEmpty {
            if args.source(of: "service") == .commandLine { throw UsageError("give --target or --service, not both", command: name) }
            return .fixed(targets)
        }
        guard let service = args.string("service") else {
            throw UsageError("give --service NAME (or MINDALPHA_SERVICE) or --target HOST:PORT[@WEIGHT]", command: name)
        }
        return .consul(try ConsulOptions.settings(args, command: name), ConsulOptions.query(args, service: service))
    }
}

/// Set once SIGINT or SIGTERM arrives.
final class Interrupted: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}

/// Instances seen during a run: their weights, and lines for those that joined, left or were ejected.
struct FleetTracker {
    private(set) var weights: [String: Int] = [:]
    private(set) var events: [String] = []
    private var present: Set<String> = []
    private var ejected: Set<String> = []

    init(_ stats: PoolStatistics) {
        for i in stats.instances where !i.removed {
            weights[i.instance.address] = i.instance.weight
            present.insert(i.instance.address)
        }
    }

    mutating func update(_ stats: PoolStatistics, at elapsed: Duration) {
        let at = String(format: "%.1fs", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        let now = Set(stats.instances.filter { !$0.removed }.map(\.instance.address))
        for address in now.subtracting(present).sorted() { events.append("\(at) \(address) joined") }
        for address in present.subtracting(now).sorted() { events.append("\(at) \(address) left") }
        present = now
        for i in stats.instances {
            if !i.removed { weights[i.instance.address] = i.instance.weight }
            let address = i.instance.address
            if i.ejectedFor != nil, !ejected.contains(address) {
                ejected.insert(address)
                events.append("\(at) \(address) ejected after repeated connection failures")
            } else if i.ejectedFor == nil {
                ejected.remove(address)
            }
        }
    }
}

/// The once-a-second line on stderr, when it is a terminal.
final class Progress: @unchecked Sendable {
    let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled }

    func show(_ result: LoadResult, elapsed: Duration) {
        guard enabled else { return }
        let p99 = result.corrected.totalCount == 0 ? "-" : formatLatency(microseconds: Double(result.corrected.valueAtPercentile(99)) / 1000)
        let errors = result.requests - result.ok
        let line = "  \(elapsed.components.seconds)s  \(BenchText.grouped(Int(result.rps))) req/s  "
            + "\(BenchText.grouped(errors)) errors  p99 \(p99)"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
