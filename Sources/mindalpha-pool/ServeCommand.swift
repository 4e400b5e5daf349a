import CommandLineKit
import Dispatch
import Foundation
import Logging
import MindAlphaPool
import MindAlphaServer
import MindAlphaWire
import NIOCore

/// `mindalpha-pool serve`: the reference server.
enum ServeCommand {
    static let spec = CommandSpec(
        name: "serve",
        summary: "run a reference MindAlpha-Serving server on one or many ports, with fault injection",
        usage: "[--listen HOST:PORT]... | [--port P [--instances K] [--host HOST]] [options]",
        options: [
            OptionSpec("listen", short: "l", .hostPort, help: "Listen on this address; port 0 picks a free one.", repeatable: true),
            OptionSpec("port", short: "p", .integer(0...65535), help: "First of --instances consecutive ports (0: free ports), used when no --listen is given.", default: "9000", valueName: "PORT"),
            OptionSpec("instances", .integer(1...1024), help: "How many consecutive ports to listen on, from --port: one process standing in for a fleet.", default: "1", valueName: "K"),
            OptionSpec("host", .string, help: "Address to bind with --port.", default: "127.0.0.1", valueName: "HOST"),
            OptionSpec("response-size", .size, help: "Body size of answers to bodies that are not a FlatBuffers Request (at least 1).", default: "64"),
            OptionSpec("latency", .durationRange, help: "Delay every answer by this long, or uniformly within a range (1ms..5ms)."),
            OptionSpec("error-rate", .number(0...1), help: "Share of requests answered with a Response carrying debug_info and no scores.", default: "0"),
            OptionSpec("drop-rate", .number(0...1), help: "Share of requests never answered.", default: "0"),
            OptionSpec("close-rate", .number(0...1), help: "Share of requests on which the connection is closed instead.", default: "0"),
            OptionSpec("max-frame-size", .size, help: "Largest request accepted; a larger one closes its connection.", default: "64MiB"),
            OptionSpec("threads", .integer(1...256), help: "Event-loop threads.", defaultDescription: "the cores this process may use"),
            OptionSpec("drain-timeout", .duration, help: "On SIGINT/SIGTERM, how long to wait for answers still being prepared.", default: "5s"),
            OptionSpec("register", .flag, help: "Register each listening port in Consul as an instance of --service, and deregister on exit."),
            OptionSpec("service", short: "s", .string, help: "Service name to register under (with --register).", environment: "MINDALPHA_SERVICE", valueName: "NAME", valuesCommand: ["discover", "--list-services"]),
            OptionSpec("weight", .integer(0...1_000_000), help: "The weight to register: Meta.balanceFactor, and Weights.Passing (capped at 65535).", default: "200"),
            OptionSpec("tags", .string, help: "Comma-separated tags to register.", valueName: "A,B"),
            OptionSpec("check", .choice(["tcp", "ttl"]), help: "The health check to register: Consul connects (tcp), or this process heartbeats (ttl).", default: "tcp"),
            OptionSpec("advertise", .string, help: "Address to register when listening on a wildcard address.", valueName: "HOST"),
        ] + ConsulOptions.specs,
        rules: [
            .excludes("listen", ["port", "instances", "host"], why: "give the addresses one way"),
            .requires("advertise", anyOf: ["register"], why: "the address to register"),
            .requires("tags", anyOf: ["register"], why: "what to register"),
            .requires("weight", anyOf: ["register"], why: "what to register"),
            .requires("check", anyOf: ["register"], why: "what to register"),
        ],
        examples: [
            "mindalpha-pool serve --port 9000 --instances 3",
            "mindalpha-pool serve --listen 127.0.0.1:0 --latency 1ms..5ms --error-rate 0.01",
            "mindalpha-pool serve --listen '[::1]:9000' --drop-rate 0.001",
            "mindalpha-pool serve --port 9000 --instances 3 --register --service ms-serving --weight 100",
        ])

    static func configuration(_ args: ParsedArguments) throws(UsageError) -> ServerConfiguration {
        var endpoints = args.hostPorts("listen")
        if endpoints.isEmpty {
            let port = args.integer("port")!
            let count = args.integer("instances")!
            if port != 0, port + count - 1 > 65535 {
                throw UsageError("--port \(port) with --instances \(count) runs past port 65535; lower one of them", command: "serve")
            }
            let host = args.string("host")!
            endpoints = (0..<count).map { .init(host: host, port: port == 0 ? 0 : port + $0) }
        }
        let responseSize = args.size("response-size")!
        guard responseSize >= 1 else {
            throw UsageError("--response-size: must be at least 1 byte (clients treat an empty body as a dead connection)", command: "serve")
        }
        let maxFrame = args.size("max-frame-size")!
        let drop = args.number("drop-rate")!, close = args.number("close-rate")!
        guard drop + close <= 1 else {
            throw UsageError("--drop-rate plus --close-rate is \(drop + close), over 1; lower one of them", command: "serve")
        }
        return ServerConfiguration(
            listen: endpoints,
            responseSize: responseSize,
            latency: args.durationRange("latency").map { TimeAmount($0.lowerBound)...TimeAmount($0.upperBound) },
            errorRate: args.number("error-rate")!,
            dropRate: drop,
            closeRate: close,
            maxFrameSize: maxFrame,
            threads: args.integer("threads") ?? CPUs.usable,
            drainTimeout: TimeAmount(args.duration("drain-timeout")!))
    }

    static func run(_ args: ParsedArguments) async throws -> ExitCode {
        let configuration = try configuration(args)
        let registrar = try args.flag("register") ? Registrar(args) : nil
        let logger = Logs.make("serve")
        // A stand-in for a fleet takes many connections: use every file descriptor the hard limit allows.
        FileLimit.raise()
        let server: ReferenceServer
        do {
            server = try await ReferenceServer.start(configuration, logger: logger)
        } catch let error as ServerError {
            throw CommandError(error.description)
        }
        for address in server.addresses { Output.out("listening on \(describe(address))") }
        if let registrar {
            do {
                try await registrar.register(server.addresses)
            } catch {
                try? await server.shutdown()
                throw error
            }
        }
        let signal = await Signals.waitForTermination()
        Output.err("\(signal): draining (up to \(formatDuration(args.duration("drain-timeout")!)))…")
        await registrar?.deregister()
        try await server.shutdown()
        let s = server.stats.snapshot
        Output.err("answered \(Output.count(s.answered, "request")) on \(Output.count(s.connectionsAccepted, "connection")); \(Output.count(s.badFrames, "bad frame")), \(s.dropped) dropped, \(s.closedByInjection) closed by injection")
        return .success
    }

    static func describe(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return HostPort(host: ip, port: port).description
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
