import CommandLineKit
import Foundation
import MindAlphaBench
import MindAlphaDiscovery
import MindAlphaPool
import MindAlphaWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization

/// `mindalpha-pool bench`: load through the pool, closed or open loop, with a report that stands beside wrk2's.
enum BenchCommand {
    /// Each option once, typed: `args[Options.conns]`; the spec below lists them.
    enum Options {
        static let conns = OptionSpec("conns", short: "c", .integer(1...10_000), help: "Connections per instance.", default: "30", valueName: "N").integer.defaulted()
        static let concurrency = OptionSpec("concurrency", .integer(1...1_000_000), help: "Requests in flight in total, closed loop.", defaultDescription: "conns × instances", valueName: "N").integer
        static let rate = OptionSpec("rate", short: "r", .rate, help: "Open loop: requests per second (5000, 5k, 1.5M; at most 10M).", valueName: "RATE").rate
        static let rateRamp = OptionSpec("rate-ramp", .rate, help: "Open loop: start at this rate and rise linearly to --rate over the duration.", valueName: "RATE").rate
        static let duration = OptionSpec("duration", short: "d", .duration, help: "How long to measure (not with --requests).", defaultDescription: "10s", valueName: "DURATION").duration
        static let requests = OptionSpec("requests", short: "n", .integer(1...Int.max), help: "Stop after this many requests instead of a duration.", valueName: "N").integer
        static let warmup = OptionSpec("warmup", .duration, help: "Run this long first without recording (on top of --duration or --requests).", default: "0s").duration.defaulted()
        static let timeout = OptionSpec("timeout", .duration, help: "Per-request timeout.", default: "1s").duration.defaulted()
        static let connectTimeout = OptionSpec("connect-timeout", .duration, help: "TCP connect timeout.", default: "1s").duration.defaulted()
        static let payloadSize = OptionSpec("payload-size", .size, help: "Body of this many random bytes (at most 64 MiB less the 8 meta bytes).", default: "64").size.defaulted()
        static let payloadFile = OptionSpec("payload-file", .path, help: "Body: this file's bytes, as they are.").text
        static let payloadHex = OptionSpec("payload-hex", .string, help: "Body: these bytes in hex (spaces allowed).", valueName: "HEX").text
        static let model = OptionSpec("model", .string, help: "Send prediction requests for this model (with --features and --columns); answers without scores count as errors.", valueName: "NAME").text
        static let features = OptionSpec("features", .path, help: "Feature rows in the Go client's CSV format (\\u0002 between fields, \\u0001 between values).").text
        static let columns = OptionSpec("columns", .path, help: "Column names, one per line (or \\u0002-separated), for --features.").text
        static let rows = OptionSpec("rows", .integer(1...10_000), help: "Feature rows per request.", default: "1").integer.defaulted()
        static let algorithm = OptionSpec("algorithm", .choice(SchedulingAlgorithm.allCases.map(\.rawValue)), help: "Weighted round robin: lvs (what production clients do) or smooth.", default: "lvs").text.defaulted()
        static let ejectAfter = OptionSpec("eject-after", .integer(0...100_000), help: "Outlier detection: eject an instance after this many failures in a row (timeouts, closes, protocol errors, failed connects; 0: never).", default: "5", valueName: "N").integer.defaulted()
        static let ejectRate = OptionSpec("eject-rate", .number(0...1), help: "Outlier detection: eject an instance when this share of its last 64 outcomes failed (0: never).", default: "0.1").number.defaulted()
        static let maxEjected = OptionSpec("max-ejected", .number(0...1), help: "The most of the fleet ejected at once; past it, every instance gets traffic (a panic threshold).", default: "0.5").number.defaulted()
        static let inFlightPerConn = OptionSpec("in-flight-per-conn", .integer(1...100_000), help: "Requests multiplexed on one connection before a request waits (an open loop's in-flight limit is this × connections × instances).", default: "64").integer.defaulted()
        static let threads = OptionSpec("threads", .integer(1...256), help: "Threads carrying the connections (spread over them in turn).", default: "1").integer.defaulted()
        static let engine = OptionSpec("engine", .choice(["direct", "nio"]), help: "direct: per thread one epoll loop owning its connections (Linux); nio: SwiftNIO channels, as an embedding program has them.", default: PoolEngine.directAvailable ? "direct" : "nio").text.defaulted()
        static let failIf = OptionSpec("fail-if", .string, help: "Exit 2 if this holds: p99>5ms, errors>0.1%, dropped>0, unfinished>0, rps<10000, share-deviation>5%.", repeatable: true, valueName: "EXPR").texts
        static let shard = OptionSpec("shard", .string, help: "Run shard I of N (1/3, 2/3, 3/3): this agent's part of --rate, --concurrency, --requests and (--shard-conns split) of --conns, so that N agents together apply the whole plan.", valueName: "I/N").text
        static let shardConns = OptionSpec("shard-conns", .choice(["split", "each"]), help: "With --shard or --coordinate: split --conns over the agents (each opens its part, at least 1), or open --conns on each.", default: "split").text.defaulted()
        static let agents = OptionSpec("agents", .integer(1...1_000), help: "With --coordinate: how many agents share the run (each takes the first free shard unless --shard gives it).", valueName: "N").integer
        static let coordinate = OptionSpec("coordinate", .string, help: "Start together with the run's other agents through Consul's KV store (keys under mindalpha-pool/runs/RUN-ID/); the report is written there too, for report merge --run.", valueName: "RUN-ID").text
        static let coordinateTimeout = OptionSpec("coordinate-timeout", .duration, help: "How long to wait for every agent of --coordinate to join (then exit 69).", default: "60s").duration.defaulted()
        static let startAt = OptionSpec("start-at", .string, help: "Start the load at this wall-clock time (RFC 3339), for agents started together without Consul.", valueName: "TIME").text
        static let hgrm = OptionSpec("hgrm", .path, help: "Also write the latency distribution to this file in HdrHistogram's .hgrm format (values in ms), as HdrHistogram's plotter reads it.").text
        static let json = OptionSpec("json", .flag, help: "The report as one JSON document (stable keys, histogram buckets for report merge).").flag
        static let quiet = OptionSpec("quiet", short: "q", .flag, help: "No progress lines.").flag
    }

    static let spec = CommandSpec(
        name: "bench",
        summary: "load a fleet through the pool: throughput, latency percentiles, per-instance shares",
        discussion: """
        Closed loop (the default): --concurrency requests in flight in total (default: one per connection), each \
        answer sending the next. Open loop (--rate): requests are due on a fixed schedule (optionally ramping from \
        --rate-ramp to --rate) and sent as they fall due, up to the pool's capacity in flight (connections × \
        --in-flight-per-conn × instances); past the fleet's capacity bench sends as fast as answers free room, \
        latency counts from each request's intended send time (the queueing included, the uncorrected figures \
        beside), and what was due and never sent is counted as dropped. Every measured request ends in one bucket: \
        ok, an error class, unfinished (unanswered when an interrupt ended the run) or dropped. A duration run stops \
        sending when its window closes and waits for the answers already asked for (at most --timeout); SIGINT or \
        SIGTERM ends any run within half a second with a partial report and exit 130 (a second one exits at once). \
        Instances come from Consul (--service, followed during the run: joins, leaves, re-weights, ejections and \
        Consul outages are listed as events) or from --target. The body is --payload-size random bytes (up to \
        the 64 MiB frame limit), a file, hex, or a real prediction request (--model with --features and \
        --columns). Progress goes to stderr when it is a terminal; the report goes to stdout (--json: one document, \
        with a per-second timeline). A breached --fail-if exits 2 after the report; a run that measured nothing, or \
        in which no request succeeded, or in which requests failed on this client's own limits (too many open files, \
        no local port left: the class client), exits 1 and passes no --fail-if.
        """,
        options: [
            Options.conns.spec,
            Options.concurrency.spec,
            Options.rate.spec,
            Options.rateRamp.spec,
            Options.duration.spec,
            Options.requests.spec,
            Options.warmup.spec,
            Options.timeout.spec,
            Options.connectTimeout.spec,
            Options.payloadSize.spec,
            Options.payloadFile.spec,
            Options.payloadHex.spec,
            Options.model.spec,
            Options.features.spec,
            Options.columns.spec,
            Options.rows.spec,
            Options.algorithm.spec,
            Options.ejectAfter.spec,
            Options.ejectRate.spec,
            Options.maxEjected.spec,
            Options.inFlightPerConn.spec,
            Options.threads.spec,
            Options.engine.spec,
            Options.failIf.spec,
            Options.shard.spec,
            Options.shardConns.spec,
            Options.agents.spec,
            Options.coordinate.spec,
            Options.coordinateTimeout.spec,
            Options.startAt.spec,
            Options.hgrm.spec,
            Options.json.spec,
            Options.quiet.spec,
        ] + ConsulOptions.serviceSpecs + ConsulOptions.specs,
        rules: ConsulOptions.rules + [
            .oneOf(["duration", "requests"]),
            .oneOf(["concurrency", "rate"], why: "--concurrency sets a closed loop, --rate an open one"),
            .requires("rate-ramp", anyOf: ["rate"], why: "the rate it ramps to"),
            .oneOf(["payload-size", "payload-file", "payload-hex", "model"], why: "each sets the whole body"),
            .requires("features", anyOf: ["model"], why: "they build prediction requests"),
            .requires("columns", anyOf: ["model"], why: "they build prediction requests"),
            .requires("rows", anyOf: ["model"], why: "they build prediction requests"),
            .requires("agents", anyOf: ["coordinate"], why: "it says how many agents to wait for"),
            .requires("coordinate", anyOf: ["agents", "shard"], why: "how many agents to wait for"),
            .requires("coordinate-timeout", anyOf: ["coordinate"], why: "it bounds the wait for the other agents"),
            .requires("shard-conns", anyOf: ["shard", "coordinate"], why: "it says how a shared load opens connections"),
            .oneOf(["coordinate", "start-at"], why: "a coordinated run agrees on its start through Consul"),
        ],
        examples: [
            "mindalpha-pool bench --service ms-serving --conns 30 --duration 30s",
            "mindalpha-pool bench --target 127.0.0.1:9000 --rate 20k --duration 1m --fail-if 'p99>5ms'",
            "mindalpha-pool bench --service ms-serving --model demo_model --features rows.csv --columns names.txt --json > run.json",
            "mindalpha-pool bench --service ms-serving --rate 300k --duration 1m --coordinate nightly-42 --agents 3 --json",
        ])

    /// The most an open loop is asked to send per second: past it, one process cannot keep a schedule.
    static let maxRate = 10_000_000.0

    static func run(_ args: ParsedArguments) async throws -> ExitCode {
        let name = spec.name
        let thresholds = try args[Options.failIf].map { text in
            do { return try Threshold(parsing: text) } catch { throw UsageError("--fail-if: \(error)", command: name) }
        }
        let (body, validate) = try Payload.make(args, command: name)
        let source = try source(args)
        let plan = try plan(args, defaultConcurrency: 1)
        let sharing = try CoordinatedRun(args, command: name)
        // A load too small to give every agent a part is refused before anything starts.
        if sharing.agents > 1 {
            var probe = plan
            if case .closed = probe.mode, !args.isSet(Options.concurrency) { probe.mode = .closed(concurrency: sharing.agents) }
            do { _ = try probe.part(for: Shard(index: 1, count: sharing.agents)) } catch { throw UsageError(error.description, command: name) }
            if sharing.splitConns, args[Options.conns] < sharing.agents {
                Output.err("\(Program.spec.name) bench: warning: --conns \(args[Options.conns]) over \(sharing.agents) agents: each opens at least 1 connection per instance, \(sharing.agents) in all")
            }
        }
        let conns = args[Options.conns]
        let perConnection = args[Options.inFlightPerConn]
        let timeout = args[Options.timeout]
        guard timeout > .zero else { throw UsageError("--timeout must be above 0", command: name) }
        let connectTimeout = args[Options.connectTimeout]
        let threads = args[Options.threads]
        let direct = args[Options.engine] == "direct"
        guard !direct || PoolEngine.directAvailable else { throw UsageError("--engine direct needs Linux (epoll); use --engine nio", command: name) }
        // The direct engine's threads carry the connections; the event loop then only runs timers.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: direct ? 1 : threads)
        let engine: PoolEngine = direct ? .direct(threads: threads) : .nio
        do {
            let code = try await run(args, group: group, engine: engine, thresholds: thresholds, body: body, validate: validate,
                                     source: source, plan: plan, conns: conns, perConnection: perConnection, timeout: timeout,
                                     connectTimeout: connectTimeout, sharing: sharing)
            await sharing.close()
            try? await group.shutdownGracefully()
            return code
        } catch {
            await sharing.close()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private static func run(
        _ args: ParsedArguments, group: MultiThreadedEventLoopGroup, engine: PoolEngine, thresholds: [Threshold], body: ByteBuffer,
        validate: Payload.Validator?, source: PoolConfiguration.Source, plan: LoadPlan, conns: Int, perConnection: Int,
        timeout: Duration, connectTimeout: Duration, sharing: CoordinatedRun
    ) async throws -> ExitCode {
        let wholePlan = plan
        let wholeConns = conns

        // Start-up (a shard claimed, Consul, connections, the other agents, the agreed start) gives way to
        // SIGINT/SIGTERM at once, whatever it is waiting for.
        func configuration(conns: Int) -> PoolConfiguration {
            PoolConfiguration(
                source: source, maxConnectionsPerInstance: conns, maxInFlightPerConnection: perConnection,
                connectTimeout: connectTimeout, requestTimeout: timeout,
                algorithm: SchedulingAlgorithm(rawValue: args[Options.algorithm])!,
                ejection: EjectionPolicy(
                    consecutiveFailures: args[Options.ejectAfter], failureRate: args[Options.ejectRate],
                    maxEjectedShare: args[Options.maxEjected]),
                engine: engine)
        }
        let startup: Startup = await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            let task = NIOLockedValueBox<Task<Void, Never>?>(nil)
            Signals.onTermination { _ in
                once.resume(.interrupted)  // first: the cancelled start then fails at once, and must not win
                task.withLockedValue { $0?.cancel() }
            }
            task.withLockedValue {
                $0 = Task {
                    var started: ConnectionPool?
                    do {
                        let shard = try await sharing.claim()
                        let pool = try await ConnectionPool.start(
                            configuration(conns: sharing.conns(wholeConns, for: shard)), eventLoopGroup: group, logger: Logs.make("pool"))
                        started = pool
                        // Let the connections come up before the clock starts (a dead instance's fail fast).
                        await pool.waitUntilConnected(timeout: connectTimeout + .milliseconds(100))
                        let meeting = try await sharing.meet(as: shard)
                        once.resume(.ready(pool, shard, meeting))
                    } catch {
                        if let started { await started.shutdown(deadline: .zero) }
                        if let error = error as? PoolError { once.resume(.failed(error)) }
                        else if let error = error as? CommandError { once.resume(.refused(error)) }
                        else { once.resume(.interrupted) }
                    }
                }
            }
        }
        let pool: ConnectionPool
        let shard: Shard
        let meeting: (start: Date, recordAge: Duration?)?
        switch startup {
        case let .failed(error):
            // Consul unreachable or listing no instance: 69; Consul refusing the query (a 403): 1, as discover.
            if error.kind == .discoveryRefused { throw CommandError(error.description, code: .failure) }
            throw CommandError(error.description, code: .unavailable)
        case let .refused(error):
            throw error
        case .interrupted:
            let result = LoadResult.nothing(interrupted: true, during: sharing.runID == nil ? "connecting" : "connecting or waiting for the other agents")
            Output.out(output(BenchReport(result: result, plan: plan, client: usage()), args: args, plan: plan, conns: conns, body: body))
            return .interrupted
        case let .ready(ready, claimed, met):
            pool = ready
            shard = claimed
            meeting = met
        }

        // This agent's part of the load (checked above for every shard of the run).
        let conns = sharing.conns(wholeConns, for: shard)
        var plan = wholePlan
        let instances = pool.statistics().instances.count
        if case .closed = plan.mode, !args.isSet(Options.concurrency) {
            plan.mode = .closed(concurrency: conns * instances)
        } else {
            plan = (try? wholePlan.part(for: shard)) ?? wholePlan
        }
        if case .requests = wholePlan.stop, let part = try? wholePlan.part(for: shard) { plan.stop = part.stop }
        let load = LoadEngine.start(
            pool: pool, plan: plan, body: body, eventLoop: group.next(),
            inFlightLimit: conns * perConnection * max(1, instances), inFlightPerInstance: conns * perConnection, validate: validate)
        let signals = SignalCount()
        Signals.onTermination { signal in
            // The first stops the run with a partial report; a second, impatient one exits at once.
            if signals.next() == 1 { load.interrupt() } else { exit(ExitCode.interrupted.rawValue) }
        }
        // A progress line rewrites itself with escape sequences: a terminal that cannot (TERM=dumb) gets none.
        let progress = Progress(enabled: !args[Options.quiet] && isatty(STDERR_FILENO) == 1
                                && ProcessInfo.processInfo.environment["TERM"] != "dumb")
        // No progress line, no ticker: a quiet or piped run does nothing once a second.
        let ticker = !progress.enabled ? nil : Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard !Task.isCancelled else { break }
                progress.show(load.progress())
            }
        }
        let result = await load.result()
        ticker?.cancel()
        progress.clear()
        await pool.shutdown(deadline: .seconds(2))
        var report = BenchReport(result: result, plan: plan, client: usage())
        report.plan = BenchReport.Plan(wholePlan, concurrency: args[Options.concurrency], conns: wholeConns, agents: sharing.agents)
        report.command = ([Program.spec.name] + CommandLine.arguments.dropFirst()).map(Self.shellWord).joined(separator: " ")
        var hgrmFailed = false
        if let file = args[Options.hgrm], let text = report.hgrm() {
            do { try text.write(toFile: file, atomically: true, encoding: .utf8) } catch {
                Output.err("\(Program.spec.name) bench: cannot write --hgrm '\(file)': check that its folder exists and is writable")
                hgrmFailed = true
            }
        }
        report.agents = [BenchReport.Agent(
            shard: shard.description, runID: sharing.runID, host: CoordinatedRun.host, pid: Int(getpid()),
            startedAt: report.startedAt, endedAt: report.endedAt, seconds: report.seconds, requests: report.requests, rps: report.rps,
            agreedStart: meeting.map { BenchReport.timestamp($0.start) },
            startRecordAgeMs: meeting?.recordAge.map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 })]
        for event in report.events where event.kind == "rate_not_met" {
            Output.err("\(Program.spec.name) bench: warning: \(event.message)")
        }
        var heading = output(report, args: args, plan: plan, conns: conns, body: body, firstErrors: result.firstError)
        if shard.count > 1, !args[Options.json], heading.hasPrefix("bench:") { heading = "bench, shard \(shard):" + heading.dropFirst("bench:".count) }
        Output.out(heading)
        do { try await sharing.publish(report, shard: shard) } catch let error as CommandError {
            Output.err("\(Program.spec.name) bench: \(error.message)")
            return error.code
        }
        if result.interrupted { return .interrupted }
        if hgrmFailed { return .failure }
        if report.ok == 0 {
            if report.requests == 0 {
                Output.err("\(Program.spec.name) bench: no request was measured — nothing to judge --fail-if by")
            } else if report.sent == 0 {
                Output.err("\(Program.spec.name) bench: none of the \(report.requests) requests due was sent — nothing to judge --fail-if by")
            } else {
                let cause = result.firstError.sorted { $0.key < $1.key }.first.map { ": \($0.value)" } ?? ""
                Output.err("\(Program.spec.name) bench: no request succeeded\(cause)")
            }
            return .failure
        }
        // This client's own limits, not the fleet's: the run measured something else than was asked, whatever else
        // it says.
        if let client = report.errors[PoolError.Class.client.rawValue], client > 0 {
            let cause = result.firstError[PoolError.Class.client.rawValue].map { ": \($0)" } ?? ""
            Output.err("\(Program.spec.name) bench: \(BenchText.grouped(client)) request\(client == 1 ? "" : "s") failed on this client's own limits\(cause)")
            return .failure
        }
        if let c = report.connections, c.clientLimited > 0 {
            // Connects, not connections: a pool short of connections dials again when a request finds none idle.
            Output.err("\(Program.spec.name) bench: \(BenchText.grouped(c.open)) of the \(BenchText.grouped(c.wanted)) connections asked for were open at the end; "
                + "\(BenchText.grouped(c.clientLimited)) connect\(c.clientLimited == 1 ? "" : "s") failed on this client's own limits: \(c.firstClientLimit ?? "")")
            return .failure
        }
        let breached = thresholds.filter { $0.isBreached(by: report) }
        for t in breached {
            Output.err("\(Program.spec.name) bench: --fail-if \(t) breached: \(t.metric.rawValue) is \(BenchText.format(t, t.measured(in: report)))")
        }
        return breached.isEmpty ? .success : .thresholdBreached
    }

    /// A word as a shell would need it quoted.
    static func shellWord(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./:@=,%+".contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private enum Startup: Sendable {
        /// The pool, this agent's shard, and (coordinated or `--start-at`) the start it waited for.
        case ready(ConnectionPool, Shard, (start: Date, recordAge: Duration?)?)
        case failed(PoolError)
        /// A coordinated start that could not be (a shard taken, agents missing, Consul unreachable).
        case refused(CommandError)
        case interrupted
    }

    private static func output(
        _ report: BenchReport, args: ParsedArguments, plan: LoadPlan, conns: Int, body: ByteBuffer,
        firstErrors: [String: String] = [:]
    ) -> String {
        if args[Options.json] { return report.json }
        if report.instances.isEmpty, report.interrupted { return BenchText.render(report, heading: "bench: interrupted while connecting") }
        let heading = BenchText.heading(plan: plan, conns: conns, instances: report.instances.count, bodySize: body.readableBytes)
        return BenchText.render(report, heading: heading, firstErrors: firstErrors)
    }

    /// This process's peak memory and CPU time so far. The peak is `VmHWM` from /proc/self/status where there is one:
    /// `getrusage`'s `ru_maxrss` survives `execve`, so a bench started by a large process (a test runner, a harness)
    /// would report its parent's peak as its own.
    static func usage() -> BenchReport.Client {
        var u = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &u)
        let cpu = Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
        let peak = peakResidentKiB() ?? u.ru_maxrss
        return BenchReport.Client(maxRSSBytes: peak * 1024, cpuSeconds: (cpu * 1000).rounded() / 1000)
    }

    /// `VmHWM`, this process image's own peak resident size, in KiB.
    static func peakResidentKiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    static func plan(_ args: ParsedArguments, defaultConcurrency: Int) throws -> LoadPlan {
        let name = spec.name
        let stop: LoadPlan.Stop = args[Options.requests].map { .requests($0) } ?? .duration(args[Options.duration] ?? .seconds(10))
        if case let .duration(d) = stop, d <= .zero { throw UsageError("--duration must be above 0", command: name) }
        let mode: LoadPlan.Mode
        if let rate = args[Options.rate] {
            guard rate > 0 else { throw UsageError("--rate must be above 0", command: name) }
            guard rate <= maxRate else {
                throw UsageError("--rate \(BenchText.grouped(Int(rate))) is above the 10M requests per second one bench process can schedule; run several (report merge adds them up)", command: name)
            }
            if let from = args[Options.rateRamp], from > maxRate {
                throw UsageError("--rate-ramp \(BenchText.grouped(Int(from))) is above the 10M requests per second one bench process can schedule", command: name)
            }
            let from = args[Options.rateRamp]
            if from != nil, case .requests = stop { throw UsageError("--rate-ramp needs --duration (the ramp spans it)", command: name) }
            mode = .open(rate: rate, from: from)
        } else {
            mode = .closed(concurrency: args[Options.concurrency] ?? max(1, defaultConcurrency))
        }
        return LoadPlan(mode: mode, stop: stop, warmup: args[Options.warmup], timeout: args[Options.timeout])
    }

    static func source(_ args: ParsedArguments) throws -> PoolConfiguration.Source {
        try ConsulOptions.instances(args, command: spec.name).poolSource
    }
}

/// Counts SIGINT/SIGTERM arrivals.
final class SignalCount: Sendable {
    private let count = Atomic<Int>(0)
    func next() -> Int { count.add(1, ordering: .relaxed).newValue }
}

/// The once-a-second line on stderr, when it is a terminal: elapsed of total, the last second's rate and p99, and a
/// sparkline of the last seconds' p99.
final class Progress: Sendable {
    let enabled: Bool
    /// The p99 of the last seconds, oldest first (at most ``sparkSeconds``).
    private let p99s = NIOLockedValueBox<[(second: Int, p99: UInt64)]>([])
    static let sparkSeconds = 12
    init(enabled: Bool) { self.enabled = enabled }

    func show(_ p: LoadEngine.Progress) {
        guard enabled else { return }
        let seconds = Double(p.elapsed.components.seconds) + Double(p.elapsed.components.attoseconds) / 1e18
        var line = seconds < 0 ? "  warming up" : "  \(Int(seconds))s" + (p.total.map { "/\(formatDuration($0))" } ?? "")
        if let last = p.lastSecond {
            line += "  \(BenchText.grouped(last.requests)) req/s  p99 " + (last.p99 == 0 ? "-" : formatLatency(microseconds: Double(last.p99) / 1000))
            // Once per second of the run: a tick that comes twice in one second adds it once.
            let second = Int(seconds.rounded(.down)) - 1
            let history = p99s.withLockedValue { h in
                if last.p99 > 0, h.last?.second != second { h.append((second, last.p99)) }
                if h.count > Self.sparkSeconds { h.removeFirst(h.count - Self.sparkSeconds) }
                return h.map(\.p99)
            }
            if history.count > 1 { line += " " + BenchText.chart.sparkline(history) }
        }
        line += "  \(BenchText.grouped(p.finished)) done  \(BenchText.grouped(p.errors)) errors"
        Output.errRaw("\r\u{1B}[K" + line)
    }

    func clear() {
        guard enabled else { return }
        Output.errRaw("\r\u{1B}[K")
    }
}
