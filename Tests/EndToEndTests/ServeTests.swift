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
        let ports = try Self.ports(try server.lines(3))
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
        #expect(try server.stop(SIGTERM) == 0)
        #expect(server.stderr.contains("answered 3 requests"))
    }

    @Test func sigintDrainsAndExitsZero() async throws {
        let server = try Tool.start(["serve", "--listen", "127.0.0.1:0", "--latency", "300ms", "--threads", "1"])
        let port = try Self.ports(try server.lines(1))[0]
        let client = try await FrameClient.connect(port: port)
        try await client.send(id: 11, body: ByteBuffer(string: "x"))
        try await Task.sleep(for: .milliseconds(50))
        kill(server.process.processIdentifier, SIGINT)
        #expect(try await client.next()?.requestID == 11)  // the answer in preparation still comes
        try server.wait()
        #expect(server.process.terminationStatus == 0)
        #expect(server.stderr.contains("SIGINT: draining"))
    }

    @Test func busyPortIsExit1WithWhatToDo() throws {
        let first = try Tool.start(["serve", "--listen", "127.0.0.1:0", "--threads", "1"])
        let port = try Self.ports(try first.lines(1))[0]
        let second = try Tool.run(["serve", "--listen", "127.0.0.1:\(port)", "--threads", "1"])
        #expect(second.status == 1)
        #expect(second.stderr.hasPrefix("mindalpha-pool: cannot listen on 127.0.0.1:\(port):"))
        #expect(second.stderr.contains("choose another --listen/--port"))
        #expect(try first.stop() == 0)
    }

    /// The C reference client from shared/refload (built here with plain cc) against `serve`.
    @Test func answersTheCReferenceClient() throws {
        let refload = Tool.repository.deletingLastPathComponent().appendingPathComponent("shared/refload")
        try #require(FileManager.default.fileExists(atPath: refload.appendingPathComponent("refclient.c").path),
                     "shared/refload is missing beside the repository")
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        build.arguments = ["make", "-s", "-C", refload.path, "refclient"]
        try build.run()
        build.waitUntilExit()
        try #require(build.terminationStatus == 0, "could not build refclient")

        let server = try Tool.start(["serve", "--port", "0", "--instances", "2", "--threads", "1"])
        for port in try Self.ports(try server.lines(2)) {
            let client = Process()
            client.executableURL = refload.appendingPathComponent("refclient")
            client.arguments = ["-p", "\(port)", "-c", "4", "-d", "0.5", "-w", "0"]
            let out = Pipe()
            client.standardOutput = out
            try client.run()
            let line = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            client.waitUntilExit()
            #expect(client.terminationStatus == 0)
            #expect(line.contains("errors=0 "), "\(line)")
            let requests = line.split(separator: " ").first { $0.hasPrefix("requests=") }.flatMap { Int($0.dropFirst(9)) } ?? 0
            #expect(requests > 100, "\(line)")
        }
        #expect(try server.stop() == 0)
    }
}
