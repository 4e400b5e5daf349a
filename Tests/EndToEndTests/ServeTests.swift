import Foundation
import MindAlphaWire
import NIOCore
import Testing
import TestSupport

/// `mindalpha-pool serve` as a process: ports, answers, signals, and the C reference client.
@Suite struct ServeTests {
    static func ports(_ lines: [String]) throws -> [Int] {
        try lines.map { line in
            guard line.hasPrefix("listening on 127.0.0.1:"), let port = Int(line.split(separator: ":").last!) else {
                throw Tool.ToolError("unexpected line \(line.debugDescription)")
            }
            return port
        }
    }

    @Test func instancesListenOnConsecutivePortsAndScoreOurRequests() async throws {
        let server = try Tool.start(["serve", "--port", "0", "--instances", "3", "--threads", "1"])
        let ports = try await Self.ports(try await server.lines(3))
        #expect(Set(ports).count == 3)
        var b = IndexBatchBuilder()
        b.addColumn("user_id", value: "265366bf", level: 0)
        b.addColumn("creative_id", value: "b1feb7c7", level: 2)
        b.addColumn("creative_id", value: "abc", level: 2)
        let body = ByteBuffer(bytes: Request(algoName: "demo_model", indexBatches: [b.build()]).flatBuffer())
        var scores: [[Float]] = []
        for port in ports {
            let client = try await FrameClient.connect(port: port)
            try await client.send(id: 2, body: body)
            let frame = try #require(try await client.next())
            #expect(frame.requestID == 2)
            scores.append(try Response(flatBuffer: frame.body).scores)
            await client.close()
        }
        #expect(scores[0].count == 2)
        #expect(scores.allSatisfy { $0 == scores[0] })  // every instance answers the same request the same way
        #expect(try await server.stop(SIGTERM) == 0)
        #expect(server.stderr.contains("answered 3 requests"))
    }

    @Test func sigintDrainsAndExitsZero() async throws {
        let server = try Tool.start(["serve", "--listen", "127.0.0.1:0", "--latency", "300ms", "--threads", "1"])
        let port = try await Self.ports(try await server.lines(1))[0]
        let client = try await FrameClient.connect(port: port)
        try await client.send(id: 11, body: ByteBuffer(string: "x"))
        try await Task.sleep(for: .milliseconds(50))
        kill(server.process.processIdentifier, SIGINT)
        #expect(try await client.next()?.requestID == 11)  // the answer in preparation still comes
        try await server.wait()
        #expect(server.process.terminationStatus == 0)
        #expect(server.stderr.contains("SIGINT: draining"))
    }

    @Test func theEngineIsChosenAndAFaultTheDirectEngineCannotInjectIsAUsageError() async throws {
        let refused = try await Tool.run(["serve", "--port", "0", "--engine", "direct", "--latency", "1ms"])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("--engine direct answers at once: --latency, --error-rate, --drop-rate and --close-rate need --engine nio (or auto)"))
        for engine in ["direct", "nio"] {
            let server = try Tool.start(["serve", "--port", "0", "--threads", "2", "--engine", engine])
            let port = try Self.ports(try await server.lines(1))[0]
            let client = try await FrameClient.connect(port: port)
            try await client.send(id: 8, body: ByteBuffer(string: "x"))
            #expect(try await client.next()?.requestID == 8, "\(engine)")
            await client.close()
            #expect(try await server.stop(SIGTERM) == 0)
            #expect(server.stderr.contains("answered 1 request"), "\(engine)")
        }
    }

    @Test func busyPortIsExit1WithWhatToDo() async throws {
        let first = try Tool.start(["serve", "--listen", "127.0.0.1:0", "--threads", "1"])
        let port = try await Self.ports(try await first.lines(1))[0]
        let second = try await Tool.run(["serve", "--listen", "127.0.0.1:\(port)", "--threads", "1"])
        #expect(second.status == 1)
        #expect(second.stderr.hasPrefix("mindalpha-pool: cannot listen on 127.0.0.1:\(port):"))
        #expect(second.stderr.contains("choose another --listen/--port"))
        #expect(try await first.stop() == 0)
    }

    /// The project's C reference client (scripts/refload, built here with plain cc) against `serve`.
    @Test func answersTheCReferenceClient() async throws {
        let source = Tool.repository.appendingPathComponent("scripts/refload/refclient.c")
        let refclient = FileManager.default.temporaryDirectory.appendingPathComponent("refclient-\(UUID())")
        defer { try? FileManager.default.removeItem(at: refclient) }
        try #require(try await Tool.exec("cc", ["-O2", "-o", refclient.path, source.path]).status == 0, "could not build refclient with cc")

        let server = try Tool.start(["serve", "--port", "0", "--instances", "2", "--threads", "1"])
        for port in try await Self.ports(try await server.lines(2)) {
            let run = try await Tool.exec(refclient.path, ["-p", "\(port)", "-c", "4", "-d", "0.5", "-w", "0"])
            let line = run.stdout
            #expect(run.status == 0)
            #expect(line.contains("errors=0 "), "\(line)")
            let requests = line.split(separator: " ").first { $0.hasPrefix("requests=") }.flatMap { Int($0.dropFirst(9)) } ?? 0
            #expect(requests > 100, "\(line)")
        }
        #expect(try await server.stop() == 0)
    }
}

/// The project's C reference server (scripts/refload/refserver.c): what `make perf` measures `serve` against must
/// itself speak the protocol — split frames, pipelined frames, a huge body passed over, a wrong class closing.
@Suite struct ReferenceServerProgramTests {
    @Test func theCReferenceServerAnswersAsTheProtocolSays() async throws {
        let binary = FileManager.default.temporaryDirectory.appendingPathComponent("refserver-\(UUID())")
        defer { try? FileManager.default.removeItem(at: binary) }
        let source = Tool.repository.appendingPathComponent("scripts/refload/refserver.c").path
        try #require(try await Tool.exec("cc", ["-O2", "-o", binary.path, source]).status == 0, "could not build refserver with cc")
        let server = try Tool.start(program: binary, ["-p", "0", "-b", "5"])
        defer { server.terminate() }
        let port = try #require(try ServeTests.ports(try await server.lines(1)).first)
        let client: FrameClient? = try await FrameClient.connect(port: port)
        let c = try #require(client)
        // Pipelined, the second split byte by byte.
        var two = ByteBuffer()
        two.writeRequestFrame(requestID: 7, body: ByteBuffer(string: "a"))
        two.writeRequestFrame(requestID: 8, body: ByteBuffer(string: "bb"))
        for byte in two.readableBytesView { try await c.write(ByteBuffer(bytes: [byte])) }
        let a = try #require(try await c.next())
        let b = try #require(try await c.next())
        #expect(a.requestID == 7 && b.requestID == 8 && a.body.readableBytes == 5 && b.body.readableBytes == 5)
        // A 16 MiB body is passed over, not kept.
        try await c.send(id: 9, body: ByteBuffer(repeating: 1, count: 16 << 20))
        #expect(try await c.next()?.requestID == 9)
        // The wrong class ID closes the connection.
        var wrong = ByteBuffer()
        FrameHeader(dataSize: 1, classID: 1, requestID: 10).write(to: &wrong)
        wrong.writeRepeatingByte(0, count: 9)
        try await c.write(wrong)
        #expect(try await c.next() == nil)
        await c.close()
    }
}
