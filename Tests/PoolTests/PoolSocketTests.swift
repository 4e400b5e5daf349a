import MindAlphaBench
import MindAlphaPool
import MindAlphaServer
import MindAlphaWire
import NIOCore
import Synchronization
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct PoolSocketTests {
    typealias F = PoolFixtures

    @Test(arguments: PoolFixtures.engines) func aRequestGoesOutAndItsResponseComesBackMatchedByID(_ engine: PoolEngine) async throws {
        let server = try await F.server()
        let pool = try await F.pool(engine, [F.instance(F.port(server))])
        let before = NIODeadline.now()
        let response = try await pool.send(ByteBuffer(string: "hello"))
        let after = NIODeadline.now()
        #expect(response.instance == "127.0.0.1:\(F.port(server))")
        #expect(response.requestID >= 2)
        #expect(response.body.readableBytes == 64)
        // The answer's clock reading ends its latency, inside the call.
        #expect(response.answeredAt > before && response.answeredAt <= after)
        #expect(response.latencyNanoseconds > 0 && response.latencyNanoseconds <= (after - before).nanoseconds)
        let stats = pool.statistics()
        #expect(stats.totals.sent == 1 && stats.totals.ok == 1)
        await pool.shutdown()
        try await server.shutdown()
    }

    @Test(arguments: PoolFixtures.engines) func manyRequestsShareOneConnectionAndOutOfOrderAnswersFindTheirRequest(_ engine: PoolEngine) async throws {
        // Random latency reorders the answers on the single connection.
        let server = try await F.server(latency: .milliseconds(1)...(.milliseconds(40)))
        let pool = try await F.pool(engine, [F.instance(F.port(server))], connections: 1, inFlight: 100)
        let ids = try await withThrowingTaskGroup(of: (UInt64, UInt64).self) { tasks in
            for i in 0..<60 {
                tasks.addTask {
                    // The reference server answers FlatBuffers it cannot parse with a plain body; what matters is
                    // the ID: each response must carry its own request's ID.
                    let r = try await pool.send(ByteBuffer(string: "req-\(i)"))
                    return (r.requestID, UInt64(i))
                }
            }
            return try await tasks.reduce(into: [UInt64]()) { $0.append($1.0) }
        }
        #expect(Set(ids).count == 60)
        let stats = pool.statistics()
        #expect(stats.openConnections == 1)
        #expect(stats.totals.ok == 60 && stats.totals.unknown == 0 && stats.totals.late == 0)
        #expect(server.stats.snapshot.connectionsAccepted == 1)
        await pool.shutdown()
        try await server.shutdown()
    }

    @Test(arguments: PoolFixtures.engines) func aReusedBodyGoesOutWithEachRequestsOwnIDAndOtherBodiesAreNotMistakenForIt(_ engine: PoolEngine) async throws {
        let server = try await ScriptedServer.start { f in [.respond(id: f.requestID, body: f.body)] }
        let pool = try await F.pool(engine, [F.instance(server.port)], connections: 1)
        let same = ByteBuffer(string: "same-body")
        var ids: Set<UInt64> = []
        for _ in 0..<3 {
            let r = try await pool.send(same)
            #expect(String(buffer: r.body) == "same-body")
            ids.insert(r.requestID)
        }
        #expect(ids.count == 3)
        for text in ["diff-body", "same-body", "x", "same-body"] {
            #expect(String(buffer: try await pool.send(ByteBuffer(string: text)).body) == text)
        }
        await pool.shutdown()
        await server.stop()
    }

    @Test(arguments: PoolFixtures.engines) func sharesFollowTheWeights(_ engine: PoolEngine) async throws {
        let servers = [try await F.server(), try await F.server(), try await F.server()]
        let weights = [100, 200, 300]
        let pool = try await F.pool(engine, zip(servers, weights).map { F.instance(F.port($0), weight: $1) })
        var numbers: [String: Set<Int>] = [:]
        for _ in 0..<600 {
            let response = try await pool.send(ByteBuffer(string: "x"))
            numbers[response.instance, default: []].insert(response.instanceNumber)
        }
        let sent = Dictionary(uniqueKeysWithValues: pool.statistics().instances.map { ($0.instance.weight, $0.counters.ok) })
        #expect(sent == [100: 100, 200: 200, 300: 300])
        // One number per instance, a different one for each.
        #expect(numbers.count == 3 && numbers.values.allSatisfy { $0.count == 1 })
        #expect(Set(numbers.values.flatMap { $0 }).count == 3)
        await pool.shutdown()
        for server in servers { try await server.shutdown() }
    }

    @Test(arguments: PoolFixtures.engines) func aPinnedRequestGoesToItsInstanceAndAnUnknownOneIsAClearError(_ engine: PoolEngine) async throws {
        let servers = [try await F.server(), try await F.server()]
        let pool = try await F.pool(engine, servers.map { F.instance(F.port($0)) })
        let second = "127.0.0.1:\(F.port(servers[1]))"
        for _ in 0..<5 { #expect(try await pool.send(ByteBuffer(string: "x"), to: second).instance == second) }
        let error = await F.failure(pool, to: "127.0.0.1:1")
        #expect(error == .noSuchInstance("127.0.0.1:1", source: "the fixed targets"))
        await pool.shutdown()
        for server in servers { try await server.shutdown() }
    }

    @Test(arguments: PoolFixtures.engines) func aRefusingInstanceFailsItsRequestsIsEjectedAndTheOthersKeepServing(_ engine: PoolEngine) async throws {
        let good = try await F.server()
        let refused = try await ScriptedServer.closedPort()
        let pool = try await F.pool(engine, [F.instance(F.port(good)), F.instance(refused)])
        var errors: [PoolError.Class: Int] = [:]
        var ok = 0
        for _ in 0..<40 {
            do {
                _ = try await pool.send(ByteBuffer(string: "x"))
                ok += 1
            } catch {
                errors[error.errorClass, default: 0] += 1
                #expect(error.instance == "127.0.0.1:\(refused)")
            }
        }
        #expect(Set(errors.keys).isSubset(of: [.connect]))
        #expect(ok >= 30)
        let bad = pool.statistics().instances.first { $0.instance.port == refused }!
        #expect(bad.ejectedFor != nil)
        #expect(bad.open == 0)
        await pool.shutdown()
        try await good.shutdown()
    }

    @Test(arguments: PoolFixtures.engines) func anInstanceThatAcceptsThenResetsFailsWithClosed(_ engine: PoolEngine) async throws {
        let server = try await ScriptedServer.start { _ in [.reset] }
        let pool = try await F.pool(engine, [F.instance(server.port)], connections: 1, ejection: .disabled)
        let error = await F.failure(pool)
        #expect(error?.errorClass == .closed)
        #expect(error?.instance == "127.0.0.1:\(server.port)")
        // Replaced on demand: the next request gets a new connection (and fails the same way).
        #expect(await F.failure(pool)?.errorClass == .closed)
        await pool.shutdown()
        await server.stop()
    }

    @Test(arguments: PoolFixtures.engines) func garbageWrongClassAndHugeFramesAreProtocolViolationsThatCloseTheConnection(_ engine: PoolEngine) async throws {
        let cases: [(String, @Sendable (Frame) -> [ScriptedServer.Reply])] = [
            ("garbage", { _ in [.raw(ByteBuffer(repeating: 0xAB, count: 64))] }),
            ("wrong class", { f in
                var b = ByteBuffer()
                FrameHeader(dataSize: 1, classID: ProcessorClassID.request, requestID: f.requestID).write(to: &b)
                b.writeRepeatingByte(0, count: 9)
                return [.raw(b)]
            }),
            ("10 GiB", { f in
                var b = ByteBuffer()
                FrameHeader(dataSize: 10 << 30, classID: ProcessorClassID.response, requestID: f.requestID).write(to: &b)
                b.writeRepeatingByte(0, count: 8)
                return [.raw(b)]
            }),
        ]
        for (name, script) in cases {
            let server = try await ScriptedServer.start(script)
            let pool = try await F.pool(engine, [F.instance(server.port)], connections: 1)
            let error = await F.failure(pool)
            guard let error, error.kind == .protocolViolation, let frameError = error.frameError else {
                Issue.record("\(name): expected a protocol violation, got \(String(describing: error))")
                continue
            }
            #expect(error.instance == "127.0.0.1:\(server.port)")
            switch name {
            case "wrong class": #expect(frameError == .wrongClassID(ProcessorClassID.request, expected: ProcessorClassID.response))
            case "10 GiB": #expect(frameError == .frameTooLarge(announced: (10 << 30) + 8, limit: FrameParser.defaultMaxFrameSize))
            default: break
            }
            try await F.eventually(pool) { $0.openConnections == 0 }
            await pool.shutdown()
            await server.stop()
        }
    }

    @Test(arguments: PoolFixtures.engines) func aResponseForAnUnknownIDIsCountedAndDropped(_ engine: PoolEngine) async throws {
        let server = try await ScriptedServer.start { f in
            [.respond(id: 999_999, body: ByteBuffer(string: "stray")), .respond(id: f.requestID, body: ByteBuffer(string: "mine"))]
        }
        let pool = try await F.pool(engine, [F.instance(server.port)], connections: 1)
        let response = try await pool.send(ByteBuffer(string: "x"))
        #expect(String(buffer: response.body) == "mine")
        let counters = pool.statistics().totals
        #expect(counters.unknown == 1 && counters.ok == 1 && counters.failed == 0)
        #expect(pool.statistics().openConnections == 1)
        await pool.shutdown()
        await server.stop()
    }

    @Test(arguments: PoolFixtures.engines) func anInstanceThatNeverAnswersTimesOutAndNothingStaysInFlight(_ engine: PoolEngine) async throws {
        let server = try await F.server(dropRate: 1)
        let pool = try await F.pool(engine, [F.instance(F.port(server))], connections: 1)
        try await F.eventually(pool) { $0.openConnections == 1 }
        let started = ContinuousClock.now
        let error = await F.failure(pool, timeout: .milliseconds(200))
        #expect(error == .timeout(instance: "127.0.0.1:\(F.port(server))", after: .milliseconds(200)))
        #expect(ContinuousClock.now - started < .seconds(10))  // no hang
        let stats = pool.statistics()
        #expect(stats.inFlight == 0 && stats.totals[.timeout] == 1)
        #expect(stats.openConnections == 1)  // a timeout does not close the connection
        await pool.shutdown()
        try await server.shutdown()
    }

    @Test(arguments: PoolFixtures.engines) func anAnswerSlowerThanTheTimeoutFailsTheRequestAndIsCountedLate(_ engine: PoolEngine) async throws {
        let server = try await F.server(latency: .milliseconds(300)...(.milliseconds(300)))
        let pool = try await F.pool(engine, [F.instance(F.port(server))], connections: 1)
        try await F.eventually(pool) { $0.openConnections == 1 }
        #expect(await F.failure(pool, timeout: .milliseconds(50))?.errorClass == .timeout)
        try await F.eventually(pool) { $0.totals.late == 1 }
        #expect(pool.statistics().totals.unknown == 0)
        // The connection still serves.
        _ = try await pool.send(ByteBuffer(string: "x"), timeout: .seconds(5))
        await pool.shutdown()
        try await server.shutdown()
    }

    @Test(arguments: PoolFixtures.engines) func requestsWaitFirstComeFirstServedForABusyConnectionUpToTheirDeadline(_ engine: PoolEngine) async throws {
        let server = try await F.server(latency: .milliseconds(30)...(.milliseconds(30)))
        let pool = try await F.pool(engine, [F.instance(F.port(server))], connections: 1, inFlight: 1)
        // The order the pool finished them in: each one's answer came `latency` after its send. (Not the order the
        // tasks resumed in: on a loaded machine two resumptions 30 ms apart may run at once on two threads.)
        let answered = Answers()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for i in 0..<5 {
                tasks.addTask {
                    let sent = ContinuousClock.now
                    let response = try await pool.send(ByteBuffer(string: "\(i)"), timeout: .seconds(5))
                    answered.add(i, at: sent + response.latency)
                }
                // Queue them in a known order.
                try await F.eventually(pool) { $0.totals.sent + $0.instances[0].waiting == i + 1 }
            }
            try await tasks.waitForAll()
        }
        #expect(answered.inOrder == [0, 1, 2, 3, 4])
        await pool.shutdown()
        try await server.shutdown()

        // A wait longer than the deadline fails with noConnection (the only slot is held by an unanswered request).
        let silent = try await F.server(dropRate: 1)
        let busy = try await F.pool(engine, [F.instance(F.port(silent))], connections: 1, inFlight: 1)
        let held = Task { try await busy.send(ByteBuffer(string: "a"), timeout: .seconds(30)) }
        try await F.eventually(busy) { $0.inFlight == 1 }
        let error = await F.failure(busy, timeout: .milliseconds(10))
        #expect(error?.errorClass == .unavailable)
        #expect(error?.kind == .noConnection, "expected noConnection, got \(String(describing: error))")
        held.cancel()
        _ = await held.result
        await busy.shutdown()
        try await silent.shutdown()
    }

    @Test(arguments: PoolFixtures.engines) func cancellingTheTaskFailsTheRequestAtOnce(_ engine: PoolEngine) async throws {
        let server = try await F.server(dropRate: 1)
        let pool = try await F.pool(engine, [F.instance(F.port(server))], connections: 1)
        let task = Task { try await pool.send(ByteBuffer(string: "x"), timeout: .seconds(30)) }
        try await F.eventually(pool) { $0.inFlight == 1 }
        task.cancel()
        let result = await task.result
        guard case let .failure(error as PoolError) = result else { Issue.record("expected a failure"); return }
        #expect(error == .cancelled)
        #expect(pool.statistics().inFlight == 0)
        await pool.shutdown()
        try await server.shutdown()
    }

    @Test(arguments: PoolFixtures.engines) func aCheckedOutConnectionIsExclusiveUntilCheckedIn(_ engine: PoolEngine) async throws {
        let server = try await F.server()
        let pool = try await F.pool(engine, [F.instance(F.port(server))], connections: 1)
        let connection = try await pool.checkout()
        let response = try await connection.send(ByteBuffer(string: "x"))
        #expect(response.instance == connection.instance)
        // Nobody else gets it meanwhile.
        let error = await F.failure(pool, timeout: .milliseconds(50))
        #expect(error?.errorClass == .unavailable)
        connection.checkin()
        _ = try await pool.send(ByteBuffer(string: "y"))
        // A network error closes it; the next request gets a new connection.
        let again = try await pool.checkout()
        again.checkin(error: .connectionClosed(instance: again.instance, reason: "test"))
        _ = try await pool.send(ByteBuffer(string: "z"))
        #expect(server.stats.snapshot.connectionsAccepted == 2)
        await pool.shutdown()
        try await server.shutdown()
    }

    @Test(arguments: PoolFixtures.engines) func shutdownLetsRequestsInFlightFinishRefusesNewOnesAndReturns(_ engine: PoolEngine) async throws {
        // The answer is held until the test lets it go: the request is in flight for as long as that takes.
        let gate = ScriptedServer.Gate()
        let server = try await ScriptedServer.gated(gate)
        let pool = try await F.pool(engine, [F.instance(server.port)], connections: 1)
        async let inFlight = pool.send(ByteBuffer(string: "x"), timeout: .seconds(60))
        try await F.eventually(pool) { $0.inFlight == 1 }
        async let stopped: Void = pool.shutdown(deadline: .seconds(30))
        try await F.eventually(pool) { $0.draining }
        #expect(await F.failure(pool) == .shuttingDown)  // draining: new requests are refused at once
        gate.open()
        _ = try await inFlight  // the one in flight was answered
        await stopped
        await server.stop()
    }

    @Test(arguments: PoolFixtures.engines) func shutdownPastItsDeadlineFailsWhatIsLeftAndStillReturns(_ engine: PoolEngine) async throws {
        let server = try await F.server(dropRate: 1)
        let pool = try await F.pool(engine, [F.instance(F.port(server))], connections: 1)
        async let inFlight = pool.send(ByteBuffer(string: "x"), timeout: .seconds(60))
        try await F.eventually(pool) { $0.inFlight == 1 }
        await pool.shutdown(deadline: .milliseconds(100))
        do {
            _ = try await inFlight
            Issue.record("expected a failure")
        } catch {
            #expect(error as? PoolError == .unfinished(instance: "127.0.0.1:\(F.port(server))"))
        }
        try await server.shutdown()
    }

    @Test(arguments: PoolFixtures.engines) func theEventLoopPathDeliversToASinkWithTheTag(_ engine: PoolEngine) async throws {
        let server = try await F.server()
        let pool = try await F.pool(engine, [F.instance(F.port(server))])
        let driver = ClosedLoopDriver(pool: pool, body: ByteBuffer(string: "x"))
        driver.start(concurrency: 4)
        try await F.eventually(pool) { $0.totals.ok >= 200 }
        driver.stop()
        try await F.eventually(pool) { $0.inFlight == 0 }
        #expect(driver.counts.failed == 0)
        #expect(driver.counts.ok == pool.statistics().totals.ok)
        await pool.shutdown()
        try await server.shutdown()
    }
}

/// Requests by when they were answered.
final class Answers: Sendable {
    private let values = Mutex<[(Int, ContinuousClock.Instant)]>([])
    func add(_ i: Int, at instant: ContinuousClock.Instant) { values.withLock { $0.append((i, instant)) } }
    var inOrder: [Int] { values.withLock { $0.sorted { $0.1 < $1.1 }.map(\.0) } }
}
