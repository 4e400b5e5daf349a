import Foundation
import MindAlphaDiscovery
import MindAlphaPool
import MindAlphaREPL
import MindAlphaServer
import NIOCore
import TestSupport
import Testing

/// The interpreter without a terminal, against real servers on port 0.
@Suite(.timeLimit(.minutes(1))) struct REPLSessionTests {
    static func session(_ ports: [Int], label: String = "ms-serving") -> REPLSession {
        let instances = ports.map { Instance(host: "127.0.0.1", port: $0, serviceID: "i\($0)") }
        return REPLSession(configuration: PoolConfiguration(source: .fixed(instances), maxConnectionsPerInstance: 1), label: label)
    }

    static func run(_ session: REPLSession, _ line: String) async throws -> REPLOutput {
        try #require(await session.execute(line))
    }

    @Test func sendShowsInstanceIDLatencyAndTheBodyAsTextOrHex() async throws {
        let echo = try await ScriptedServer.start { f in [.respond(id: f.requestID, body: f.body)] }
        let session = Self.session([echo.port])
        let text = try await Self.run(session, "send hello world")
        #expect(!text.failed)
        #expect(text.text.hasPrefix("127.0.0.1:\(echo.port)  id "))
        #expect(text.text.hasSuffix("11 bytes\nhello world"))
        #expect(text.json["body"] == .string("hello world") && text.json["instance"] == .string("127.0.0.1:\(echo.port)"))
        let hex = try await Self.run(session, "send hex 00 01 ff 41")
        #expect(hex.json["body_hex"] == .string("0001ff41"))
        #expect(hex.text.contains("0000  00 01 ff 41"))
        #expect(hex.text.hasSuffix("|...A|"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("repl-\(UUID())")
        try Data("from a file".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try await Self.run(session, "send @\(file.path)").json["body"] == .string("from a file"))
        #expect(try await Self.run(session, "send @/nonexistent").failed)
        #expect(try await Self.run(session, "send hex zz").failed)
        await session.shutdown()
        await echo.stop()
    }

    @Test func predictPrintsScoresAndAnAnswerWithoutScoresFails() async throws {
        let good = try await ReferenceServer.start(ServerConfiguration(listen: [.init(host: "127.0.0.1", port: 0)], threads: 1))
        let bad = try await ReferenceServer.start(ServerConfiguration(listen: [.init(host: "127.0.0.1", port: 0)], errorRate: 1, threads: 1))
        let session = Self.session([good.addresses[0].port!])
        let out = try await Self.run(session, "predict demo_model user_id=265366bf creative_id=b1feb7c7")
        #expect(!out.failed)
        guard case let .array(scores)? = out.json["scores"] else { Issue.record("no scores in \(out.json)"); return }
        #expect(scores.count == 1)
        #expect(out.text.contains("scores: "))
        #expect(try await Self.run(session, "predict demo_model").failed)
        #expect(try await Self.run(session, "predict demo_model level=7 a=1").failed)
        await session.shutdown()
        let failing = Self.session([bad.addresses[0].port!])
        let none = try await Self.run(failing, "predict demo_model a=1")
        #expect(none.failed && none.json["class"] == .string("invalid"))
        #expect(none.text.contains("debug_info: "))
        await failing.shutdown()
        try await good.shutdown()
        try await bad.shutdown()
    }

    @Test func useRepeatStatsTimeoutAndTheSessionGoingOnAfterErrors() async throws {
        let a = try await ReferenceServer.start(ServerConfiguration(listen: [.init(host: "127.0.0.1", port: 0)], threads: 1))
        let silent = try await ReferenceServer.start(ServerConfiguration(listen: [.init(host: "127.0.0.1", port: 0)], dropRate: 1, threads: 1))
        let (pa, ps) = (a.addresses[0].port!, silent.addresses[0].port!)
        let session = Self.session([pa, ps])
        #expect(session.prompt == "ms-serving> ")
        let use = try await Self.run(session, "use \(pa)")
        #expect(!use.failed && session.prompt == "ms-serving@127.0.0.1:\(pa)> ")
        let repeated = try await Self.run(session, "repeat 5 send x")
        #expect(repeated.json["succeeded"] == .integer(5) && repeated.text.hasPrefix("5 requests, 0 failed"))
        #expect(try await Self.run(session, "use 1").failed)
        _ = try await Self.run(session, "use 127.0.0.1:\(ps)")
        #expect(try await Self.run(session, "timeout 50ms").text == "timeout 50ms")
        let timedOut = try await Self.run(session, "send x")
        #expect(timedOut.failed && timedOut.json["class"] == .string("timeout"))
        #expect(timedOut.text.contains("127.0.0.1:\(ps)"))
        _ = try await Self.run(session, "use any")
        #expect(session.prompt == "ms-serving> ")
        let stats = try await Self.run(session, "stats")
        #expect(stats.json["requests"] == .integer(6) && stats.json["failed"] == .integer(1))
        let instances = try await Self.run(session, "instances")
        #expect(instances.text.contains("127.0.0.1:\(pa)") && instances.text.contains("in schedule"))
        #expect(try await Self.run(session, "pool").text.contains("IN FLIGHT"))
        await session.shutdown()
        try await a.shutdown()
        try await silent.shutdown()
    }

    @Test func unknownCommandsSuggestTheClosestAndHelpExplainsEach() async throws {
        let session = Self.session([1])
        let unknown = try await Self.run(session, "sned hello")
        #expect(unknown.failed && unknown.text.contains("did you mean 'send'"))
        #expect(try await Self.run(session, "help").text.contains("repeat <N> <command>"))
        #expect(try await Self.run(session, "help predict").text.hasPrefix("predict <model> col=value"))
        #expect(try await Self.run(session, "help sned").text.contains("did you mean 'send'"))
        #expect(try await Self.run(session, "set output json").json["output"] == .string("json"))
        #expect(session.jsonOutput)
        #expect(try await Self.run(session, "set colour on").failed)
        let blank = await session.execute("   ")
        let comment = await session.execute("# a comment")
        #expect(blank == nil && comment == nil)
        #expect(try await Self.run(session, "quit").quit)
        await session.shutdown()
    }

    @Test func aScriptRunsLineByLineUntilQuitAndReportsWhetherAnyCommandFailed() async throws {
        let echo = try await ScriptedServer.start { f in [.respond(id: f.requestID, body: f.body)] }
        let session = Self.session([echo.port])
        var written: [String] = []
        let failed = await session.run(ListReader(["set output json", "send one", "", "bogus", "send two", "quit", "send never"])) {
            written.append($0)
        }
        #expect(failed)
        #expect(written.count == 4)  // set, send, bogus, send: the blank line prints nothing, quit ends it
        #expect(written[1].contains("\"body\":\"one\"") && written[2].contains("\"ok\":false") && written[3].contains("\"body\":\"two\""))
        let clean = Self.session([echo.port])
        #expect(await clean.run(ListReader(["send a", "stats"])) { _ in } == false)
        await session.shutdown()
        await clean.shutdown()
        await echo.stop()
    }

    @Test func thePromptComesAtOnceAndAnUnreachableConsulIsAnErrorNotAnEnd() async throws {
        let port = try await ScriptedServer.closedPort()
        let session = REPLSession(
            configuration: PoolConfiguration(source: .consul(ConsulSettings(hostPort: "127.0.0.1:\(port)"), HealthQuery(service: "ms-serving"))),
            label: "ms-serving")
        #expect(session.prompt == "ms-serving> ")
        let out = try await Self.run(session, "send x")
        #expect(out.failed && out.json["class"] == .string("unavailable") && out.text.contains("unreachable"))
        #expect(try await Self.run(session, "timeout 2s").text == "timeout 2s")
        await session.shutdown()
    }

    @Test func aConsulThatNeverAnswersDoesNotHoldThePromptOrTheEnd() async throws {
        // Accepts connections and never answers: the pool cannot start for as long as the Consul timeout.
        let mute = try await ScriptedServer.mute()
        let started = ContinuousClock.now
        let session = REPLSession(
            configuration: PoolConfiguration(source: .consul(
                ConsulSettings(hostPort: "127.0.0.1:\(mute.port)", timeout: .seconds(300)), HealthQuery(service: "ms-serving"))),
            label: "ms-serving")
        #expect(session.prompt == "ms-serving> ")
        #expect(try await Self.run(session, "help timeout").text.hasPrefix("timeout [duration]"))
        #expect(await session.knownInstancesIfReady.isEmpty)  // what completion asks for: never waits
        try await Task.sleep(for: .milliseconds(200))  // the start is now waiting on Consul
        #expect(ContinuousClock.now - started < .seconds(60))  // far below the 300 s Consul may take
        await session.shutdown()  // gives the start up instead of waiting out the 300 s
        #expect(ContinuousClock.now - started < .seconds(120))
        await mute.stop()
    }
}
