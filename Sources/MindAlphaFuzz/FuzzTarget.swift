import CommandLineKit
import ConsulDevAgent
import Dispatch
import Foundation
import MindAlphaBench
import MindAlphaDiscovery
import MindAlphaPool
import MindAlphaREPL
import MindAlphaWire
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix

/// What the fuzzers feed arbitrary bytes to: every decoder that reads what a peer, a file or a user wrote. Each
/// must return (an error is fine) for any input: never trap, hang or grow without bound. `make fuzz` drives them
/// with libFuzzer (`Tests/Fuzz`); `make test` replays their corpus (`Tests/Fuzz/corpus/<target>/`), crashes found
/// included, through ``run(_:)``.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Request frames from a stream (the server's side).
    case requestFrames = "request-frames"
    /// Response frames from a stream (the pool's side), with the pool's empty-answer rule.
    case responseFrames = "response-frames"
    /// A FlatBuffers `Request`, and a `Response`, from a body.
    case flatBuffers = "flatbuffers"
    /// The body of Consul's `/v1/health/service/<name>`: instances, weights, the lint, the schedule's numbers.
    case consulHealth = "consul-health"
    /// Raw HTTP into the dev agent: request line, headers, query strings, JSON bodies of registrations.
    case agentHTTP = "agent-http"
    /// NUL-separated command lines through the argument parser.
    case arguments
    /// Lines typed at the REPL (against an instance that refuses: nothing is sent anywhere).
    case replLines = "repl-lines"
    /// `report merge`'s decoder for `bench --json` documents.
    case report

    public func run(_ bytes: [UInt8]) {
        switch self {
        case .requestFrames: Self.frames(bytes, .request)
        case .responseFrames: Self.frames(bytes, .response)
        case .flatBuffers:
            let buffer = ByteBuffer(bytes: bytes)
            _ = try? Request(flatBuffer: buffer)
            _ = try? Response(flatBuffer: buffer)
        case .consulHealth:
            guard let instances = try? ConsulWire.instances(fromHealthJSON: Data(bytes)) else { return }
            _ = RegistrationLint.check(instances)
            let fleet = Fleet(instances)
            _ = (fleet.totalWeight, fleet.gcd, fleet.cycleLength)
        case .agentHTTP: Self.agent(bytes)
        case .arguments: Self.arguments(bytes)
        case .replLines: Self.repl(bytes)
        case .report:
            guard let report = try? BenchReport.decode(Data(bytes)) else { return }
            _ = BenchReport.merged([report, report]).json
        }
    }

    private static func frames(_ bytes: [UInt8], _ direction: FrameParser.Direction) {
        var input = ByteBuffer(bytes: bytes)
        let parser = FrameParser(direction: direction, maxFrameSize: 1 << 20)
        while let frame = try? parser.next(from: &input) {
            if direction == .response, frame.body.readableBytes == 0 { return }  // the pool closes here
        }
        _ = parser.leftoverError(input)
    }

    // MARK: the dev agent

    private static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    private static func agent(_ bytes: [UInt8]) {
        let channel = EmbeddedChannel()
        let router = ConsulDevAgent.makeRouter(group: group, aclToken: bytes.first.map { $0 & 1 == 0 ? nil : "token" } ?? nil)
        do {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
            try channel.pipeline.syncOperations.addHandler(AgentHTTPHandler(router: router))
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        } catch {}
        while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }

    // MARK: the argument parser

    /// A command with an option of every kind, and a program around it.
    private static let command = CommandSpec(
        name: "run", summary: "every kind of value",
        options: [
            OptionSpec("flag", short: "f", .flag, help: "A flag."),
            OptionSpec("text", short: "t", .string, help: "Text.", environment: "FUZZ_TEXT"),
            OptionSpec("file", .path, help: "A path."),
            OptionSpec("count", short: "n", .integer(0...1000), help: "A count.", default: "3"),
            OptionSpec("ratio", .number(0...1), help: "A share.", default: "0.5"),
            OptionSpec("duration", short: "d", .duration, help: "A duration.", default: "10s"),
            OptionSpec("latency", .durationRange, help: "A range."),
            OptionSpec("size", .size, help: "A size.", default: "64"),
            OptionSpec("rate", .rate, help: "A rate."),
            OptionSpec("address", .hostPort, help: "An address."),
            OptionSpec("mode", .choice(["lvs", "smooth"]), help: "A choice.", default: "lvs"),
            OptionSpec("tag", .string, help: "Repeatable.", repeatable: true),
        ],
        positionals: [PositionalSpec("things", .string, help: "Anything.", optional: true, variadic: true)])

    private static let program = ProgramSpec(name: "fuzz", version: "0", summary: "fuzzing", commands: [command])

    private static func arguments(_ bytes: [UInt8]) {
        let argv = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        _ = try? program.resolve(argv, environment: ["FUZZ_TEXT": "from the environment"])
        if let parsed = try? command.parse(argv) {
            _ = (parsed.duration("duration"), parsed.size("size"), parsed.strings("tag"), parsed.positionals)
        }
        _ = argv.map { parseHexBytes($0) }
        _ = argv.map { try? Threshold(parsing: $0) }
    }

    // MARK: the REPL

    private static let session = REPLSession(
        configuration: PoolConfiguration(
            source: .fixed([Instance(host: "127.0.0.1", port: 9, serviceID: "refused")]),
            maxConnectionsPerInstance: 1, connectTimeout: .milliseconds(100), requestTimeout: .milliseconds(100)),
        label: "fuzz")

    private static func repl(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let done = DispatchSemaphore(value: 0)
        Task {
            for line in text.split(separator: "\n", maxSplits: 8).prefix(8) {
                // Nothing that leaves the process or waits long: no files, no repeats, no timeouts changed.
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.contains("@") || trimmed.hasPrefix("repeat") || trimmed.hasPrefix("timeout") || trimmed.hasPrefix("quit") {
                    continue
                }
                _ = await session.execute(String(line))
            }
            done.signal()
        }
        done.wait()
    }
}
