import Foundation
import MindAlphaBench
import MindAlphaPool
import MindAlphaServer
import MindAlphaWire
import NIOConcurrencyHelpers
import NIOCore
import TestSupport
import Testing

/// `bench` tells the truth at any load: every request in one bucket, the open loop past capacity, signals, warm-up,
/// empty runs, unmatched answers. Against `serve` (and misbehaving servers) on port 0.
extension BenchTests {
    /// Every measured request is in exactly one bucket, overall, per instance (plus unplaced) and over the timeline.
    static func expectAddsUp(_ r: BenchReport, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.requests == r.ok + r.errorCount + r.unfinished + r.dropped, sourceLocation: sourceLocation)
        #expect(r.sent == r.requests - r.dropped, sourceLocation: sourceLocation)
        #expect(r.instances.reduce(0) { $0 + $1.requests } + r.unplaced + r.dropped == r.requests, sourceLocation: sourceLocation)
        for i in r.instances { #expect(i.requests == i.ok + i.errors + i.unfinished, "\(i.address)", sourceLocation: sourceLocation) }
        #expect(r.timeline.reduce(0) { $0 + $1.requests } == r.sent, sourceLocation: sourceLocation)
        #expect(r.timeline.reduce(0) { $0 + $1.dropped } == r.dropped, sourceLocation: sourceLocation)
        #expect(r.histogram.reduce(0) { $0 + $1[1] } == UInt64(r.ok), sourceLocation: sourceLocation)
    }

    /// `serve`'s own count of the requests it answered, from the line it prints when stopped.
    static func answered(_ server: Tool.Running) async throws -> Int {
        #expect(try await server.stop(SIGTERM) == 0)
        guard let line = server.stderr.split(separator: "\n").first(where: { $0.hasPrefix("answered ") }),
              let n = Int(line.split(separator: " ")[1])
        else { throw Tool.ToolError("no 'answered' line from serve: \(server.stderr)") }
        return n
    }

    @Test func aClosedLoopCountsExactlyWhatTheServerAnswered() async throws {
        for conns in ["1", "4"] {
            let (server, ports) = try await Self.serve(1)
            let result = try await Tool.run(["bench", "--target", "127.0.0.1:\(ports[0])", "--conns", conns, "--duration", "3s", "--json"])
            let report = try Self.report(result)
            let answered = try await Self.answered(server)
            #expect(report.ok == answered && report.requests == answered, "conns \(conns): bench \(report.ok), serve \(answered)")
            #expect(report.seconds == 3 && report.timeline.count == 3)
            Self.expectAddsUp(report)
        }
    }

    @Test func thePeakMemoryReportedIsBenchsOwnNotItsParents() async throws {
        // getrusage's ru_maxrss survives execve: a bench started by a large process reported that process's peak
        // (this test runner's, once other tests had made it large, failed the memory bounds of the bench tests).
        let (server, ports) = try await Self.serve(1)
        defer { server.terminate() }
        let ballast = [UInt8](repeating: 1, count: 300 << 20)  // written, so resident: the parent is now large
        let report = try Self.report(try await Tool.run(["bench", "--target", "127.0.0.1:\(ports[0])", "--requests", "100", "--json"]))
        #expect(report.client!.maxRSSBytes < 200 << 20)
        withExtendedLifetime(ballast) {}
    }

    @Test func anOpenLoopFarPastCapacityKeepsItsDurationAndMemoryAndCountsWhatItDropped() async throws {
        // In this process, so that the test sees the moment the load flows (the server's own count).
        let server = try await ReferenceServer.start(ServerConfiguration(listen: [.init(host: "127.0.0.1", port: 0)], threads: 1))
        let port = server.addresses[0].port!
        let target = ["--target", "127.0.0.1:\(port)", "--conns", "2", "--json"]
        // The closed loop's rate, then an open loop at 10 times it. Two rates measured one after the other on a
        // shared machine: a pair spoiled by a parallel test's load is measured once more (a real shortfall fails both).
        var pairs: [(closed: Double, open: Double)] = []
        var closed: BenchReport
        var open: BenchReport
        var result: Tool.Result
        var took: TimeInterval
        repeat {
            closed = try Self.report(try await Tool.run(["bench"] + target + ["--duration", "2s"]))
            let started = Date()
            result = try await Tool.run(["bench"] + target + ["--rate", String(Int(closed.rps * 10)), "--duration", "3s"])
            took = Date().timeIntervalSince(started)
            open = try Self.report(result)
            pairs.append((closed.rps, open.rps))
        } while open.rps < 0.9 * closed.rps && pairs.count < 2
        let rate = String(Int(closed.rps * 10))
        #expect(took < 5, "an overloaded 3 s run took \(took) s")
        #expect(open.client!.maxRSSBytes < 200 << 20, "peak RSS \(open.client!.maxRSSBytes)")
        #expect(open.rps >= 0.9 * closed.rps, "open loop past capacity against the closed loop, req/s: \(pairs)")
        #expect(open.dropped > 0 && open.requests == Int(rate)! * 3)
        #expect(open.latency.p99 > open.latencyUncorrected!.p99)
        #expect(open.latency.max > 1_000_000)  // queueing counted from the intended send: far above the 1 s timeout
        #expect(open.events.contains { $0.kind == "rate_not_met" })
        #expect(result.stderr.contains("warning: rate not met"))
        Self.expectAddsUp(open)

        // The same run, interrupted once the load is flowing: a partial report within half a second, exit 130.
        let before = server.stats.snapshot.answered
        let bench = try Tool.start(["bench"] + target + ["--rate", rate, "--duration", "10s"])
        while server.stats.snapshot.answered < before + 1000, bench.process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        let signalled = Date()
        kill(bench.process.processIdentifier, SIGINT)
        try await bench.wait(timeout: 10)
        let stopped = Date().timeIntervalSince(signalled)
        #expect(bench.process.terminationStatus == 130)
        #expect(stopped < 0.5, "SIGINT took \(stopped) s")
        let partial = try BenchReport.decode(Data(bench.stdout.utf8))
        #expect(partial.interrupted && partial.seconds < 10 && partial.ok > 0)
        #expect(partial.events.contains { $0.kind == "interrupted" })
        Self.expectAddsUp(partial)
        try await server.shutdown()
    }

    @Test func warmUpNeverEatsTheRequestCount() async throws {
        let (server, ports) = try await Self.serve(1)
        defer { server.terminate() }
        let target = ["--target", "127.0.0.1:\(ports[0])", "--conns", "4", "--json", "--requests", "1000"]
        let closed = try Self.report(try await Tool.run(["bench"] + target + ["--warmup", "500ms", "--fail-if", "errors>0"]))
        #expect(closed.requests == 1000 && closed.ok == 1000)
        let open = try Self.report(try await Tool.run(["bench"] + target + ["--rate", "2k", "--warmup", "200ms"]))
        #expect(open.requests == 1000 && open.ok == 1000 && open.dropped == 0)
        Self.expectAddsUp(closed)
        Self.expectAddsUp(open)
    }

    @Test func aRunThatMeasuredNothingOrNothingGoodNeverPassesAGate() async throws {
        let (server, ports) = try await Self.serve(1)
        defer { server.terminate() }
        // One request every 10 s, all of the first second warm-up: nothing is measured.
        let empty = try await Tool.run(["bench", "--target", "127.0.0.1:\(ports[0])", "--rate", "0.1", "--warmup", "1s",
                                  "--duration", "1s", "--fail-if", "p99>1s", "--fail-if", "errors>0"])
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("no request was measured"))
        let port = try await ScriptedServer.closedPort()
        let dead = try await Tool.run(["bench", "--target", "127.0.0.1:\(port)", "--conns", "1", "--requests", "5", "--fail-if", "errors>100%"])
        #expect(dead.status == 1 && dead.stderr.contains("no request succeeded"))
    }

    @Test func aSilentInstanceBesideAHealthyOneAddsUpWithoutAFalseWarning() async throws {
        let (server, ports) = try await Self.serve(1)
        defer { server.terminate() }
        let silent = try await ScriptedServer.mute()
        let result = try await Tool.run(["bench", "--target", "127.0.0.1:\(ports[0])", "--target", "127.0.0.1:\(silent.port)",
                                   "--rate", "1k", "--duration", "2s", "--timeout", "300ms", "--json"])
        await silent.stop()
        let r = try Self.report(result)
        #expect(r.requests == 2000 && r.dropped == 0 && r.unfinished == 0)
        // The silent one times out until it is ejected (its requests then go to the healthy one), and is probed.
        let healthy = try #require(r.instances.first { $0.address == "127.0.0.1:\(ports[0])" })
        #expect(healthy.ok >= 1000 && healthy.errors == 0 && r.ok == healthy.ok)
        #expect(r.ok + r.errorCount == 2000 && Set(r.errors.keys).isSubset(of: ["timeout", "closed"]), "\(r.errors)")
        #expect(r.events.contains { $0.kind == "ejected" && $0.instance == "127.0.0.1:\(silent.port)" })
        #expect(!r.events.contains { $0.kind == "rate_not_met" } && !result.stderr.contains("warning"), "\(result.stderr)")
        #expect(abs(r.rps - 1000) < 10)
        Self.expectAddsUp(r)
    }

    @Test func answersThatMatchNoRequestAreCountedPerInstance() async throws {
        // One request at a time; before answering one, the server answers the one before it again and answers an ID
        // never sent (alone: never ejected). Everything is read before the last answer, so every count is exact:
        // answers that would trail the last one are never sent, rather than raced against the run's end (the pool
        // does not read a socket after the run is over).
        let previous = NIOLockedValueBox<UInt64?>(nil)
        let echo = try await ScriptedServer.start { frame in
            let body = ByteBuffer(string: "ok")
            var replies: [ScriptedServer.Reply] = []
            if let before = previous.withLockedValue({ p in defer { p = frame.requestID }; return p }) {
                replies.append(.respond(id: before, body: body))
            }
            return replies + [.respond(id: frame.requestID + 1_000_000_000, body: body), .respond(id: frame.requestID, body: body)]
        }
        let twice = try Self.report(try await Tool.run(["bench", "--target", "127.0.0.1:\(echo.port)", "--conns", "1",
                                                        "--concurrency", "1", "--requests", "200", "--json"]))
        await echo.stop()
        let scripted = try #require(twice.instances.first)
        #expect(scripted.ok == 200 && scripted.duplicate == 199 && scripted.unknownID == 200 && scripted.late == 0)
        #expect(twice.duplicate == 199 && twice.unknownID == 200)
        #expect(twice.events.contains { $0.kind == "not_ejected" })  // the only instance: never ejected
        Self.expectAddsUp(twice)
        let (slow, ports) = try await Self.serve(1, ["--latency", "150ms"])
        defer { slow.terminate() }
        let timedOut = try await Tool.run(["bench", "--target", "127.0.0.1:\(ports[0])", "--conns", "1", "--rate", "100",
                                     "--duration", "1s", "--timeout", "50ms", "--json"])
        #expect(timedOut.status == 1)  // no request succeeded
        let late = try BenchReport.decode(Data(timedOut.stdout.utf8))
        let row = try #require(late.instances.first)
        #expect(row.errors == 100 && row.late > 50 && row.duplicate == 0 && row.unknownID == 0 && late.late == row.late)
        Self.expectAddsUp(late)
        let text = try await Tool.run(["bench", "--target", "127.0.0.1:\(ports[0])", "--conns", "1", "--rate", "100",
                                 "--duration", "500ms", "--timeout", "50ms"])
        #expect(text.stdout.contains("unmatched answers: late "))
        #expect(text.stdout.contains("LATE  DUPLICATE  UNKNOWN-ID"))
    }

    @Test func largeBodiesKeepToTheDurationAndOversizedOnesAreRefusedUpFront() async throws {
        let (server, ports) = try await Self.serve(1)
        defer { server.terminate() }
        let target = ["bench", "--target", "127.0.0.1:\(ports[0])", "--conns", "2"]
        let started = Date()
        // A generous timeout: a loaded machine's debug server takes its time over 16 MiB; the duration still ends
        // the sending, and only the answers already asked for are waited for.
        let large = try Self.report(try await Tool.run(target + ["--payload-size", "16MiB", "--duration", "1s", "--timeout", "5s", "--json"]))
        #expect(Date().timeIntervalSince(started) < 8)  // 1 s, the last answers (the 5 s timeout bounds them), start-up
        #expect(large.seconds == 1 && large.ok > 0)
        Self.expectAddsUp(large)
        for (flags, words) in [(["--payload-size", "64MiB"], "over the frame limit: a request carries at most 67,108,856 bytes"),
                               (["--payload-size", "2GiB"], "over the frame limit"),
                               (["--rate", "20M"], "above the 10M requests per second")] {
            let refused = try await Tool.run(target + flags + ["--duration", "1s"], timeout: 10)
            #expect(refused.status == 64 && refused.stderr.contains(words), "\(flags): \(refused.stderr)")
        }
    }
}
