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
    /// Each option once, typed: `args[Options.conns]`; the spec below lists them.
    enum Options {
        static let listen = OptionSpec("listen", short: "l", .hostPort, help: "Listen on this address; port 0 picks a free one.", repeatable: true).hostPorts
        static let port = OptionSpec("port", short: "p", .integer(0...65535), help: "First of --instances consecutive ports (0: free ports), used when no --listen is given.", default: "9000", valueName: "PORT").integer.defaulted()
        static let instances = OptionSpec("instances", .integer(1...1024), help: "How many consecutive ports to listen on, from --port: one process standing in for a fleet.", default: "1", valueName: "K").integer.defaulted()
        static let host = OptionSpec("host", .string, help: "Address to bind with --port.", default: "127.0.0.1", valueName: "HOST").text.defaulted()
        static let responseSize = OptionSpec("response-size", .size, help: "Body size of answers to bodies that are not a FlatBuffers Request (at least 1).", default: "64").size.defaulted()
        static let latency = OptionSpec("latency", .durationRange, help: "Delay every answer by this long, or uniformly within a range (1ms..5ms).").durationRange
        static let errorRate = OptionSpec("error-rate", .number(0...1), help: "Share of requests answered with a Response carrying debug_info and no scores.", default: "0").number.defaulted()
        static let dropRate = OptionSpec("drop-rate", .number(0...1), help: "Share of requests never answered.", default: "0").number.defaulted()
        static let closeRate = OptionSpec("close-rate", .number(0...1), help: "Share of requests on which the connection is closed instead.", default: "0").number.defaulted()
        static let maxFrameSize = OptionSpec("max-frame-size", .size, help: "Largest request accepted; a larger one closes its connection.", default: "64MiB").size.defaulted()
        static let threads = OptionSpec("threads", .integer(1...256), help: "Event-loop threads.", defaultDescription: "the cores this process may use").integer
        static let engine = OptionSpec("engine", .choice(ServerConfiguration.Engine.allCases.map(\.rawValue)), help: "direct: per thread one epoll loop answering in place (Linux; no fault injection); nio: SwiftNIO; auto: direct unless a fault is injected.", default: "auto").text.defaulted()
        static let drainTimeout = OptionSpec("drain-timeout", .duration, help: "On SIGINT/SIGTERM, how long to wait for answers still being prepared.", default: "5s").duration.defaulted()
        static let register = OptionSpec("register", .flag, help: "Register each listening port in Consul as an instance of --service, and deregister on exit.").flag
        static let service = OptionSpec("service", short: "s", .string, help: "Service name to register under (with --register).", environment: "MINDALPHA_SERVICE", valueName: "NAME", valuesCommand: ["discover", "--list-services"]).text
        static let weight = OptionSpec("weight", .integer(0...1_000_000), help: "The weight to register: Meta.balanceFactor, and Weights.Passing (capped at 65535).", default: "200").integer.defaulted()
        static let tags = OptionSpec("tags", .string, help: "Comma-separated tags to register.", valueName: "A,B").text
        static let check = OptionSpec("check", .choice(["tcp", "ttl"]), help: "The health check to register: Consul connects (tcp), or this process heartbeats (ttl).", default: "tcp").text.defaulted()
        static let advertise = OptionSpec("advertise", .string, help: "Address to register when listening on a wildcard address.", valueName: "HOST").text
    }

    static let spec = CommandSpec(
        name: "serve",
        summary: "run a reference MindAlpha-Serving server on one or many ports, with fault injection",
        usage: "[--listen HOST:PORT]... | [--port P [--instances K] [--host HOST]] [options]",
        options: [
            Options.listen.spec,
            Options.port.spec,
            Options.instances.spec,
            Options.host.spec,
            Options.responseSize.spec,
            Options.latency.spec,
            Options.errorRate.spec,
            Options.dropRate.spec,
            Options.closeRate.spec,
            Options.maxFrameSize.spec,
            Options.threads.spec,
            Options.engine.spec,
            Options.drainTimeout.spec,
            Options.register.spec,
            Options.service.spec,
            Options.weight.spec,
            Options.tags.spec,
            Options.check.spec,
            Options.advertise.spec,
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
        var endpoints = args[Options.listen]
        if endpoints.isEmpty {
            let port = args[Options.port]
            let count = args[Options.instances]
            if port != 0, port + count - 1 > 65535 {
                throw UsageError("--port \(port) with --instances \(count) runs past port 65535; lower one of them", command: "serve")
            }
            let host = args[Options.host]
            endpoints = (0..<count).map { .init(host: host, port: port == 0 ? 0 : port + $0) }
        }
        let responseSize = args[Options.responseSize]
        guard responseSize >= 1 else {
            throw UsageError("--response-size: must be at least 1 byte (clients treat an empty body as a dead connection)", command: "serve")
        }
        let maxFrame = args[Options.maxFrameSize]
        let drop = args[Options.dropRate], close = args[Options.closeRate]
        guard drop + close <= 1 else {
            throw UsageError("--drop-rate plus --close-rate is \(drop + close), over 1; lower one of them", command: "serve")
        }
        let engine = ServerConfiguration.Engine(rawValue: args[Options.engine])!
        var configuration = ServerConfiguration(
            listen: endpoints,
            responseSize: responseSize,
            latency: args[Options.latency].map { TimeAmount($0.lowerBound)...TimeAmount($0.upperBound) },
            errorRate: args[Options.errorRate],
            dropRate: drop,
            closeRate: close,
            maxFrameSize: maxFrame,
            threads: args[Options.threads] ?? CPUs.usable,
            drainTimeout: TimeAmount(args[Options.drainTimeout]))
        if engine == .direct, configuration.injects {
            throw UsageError("--engine direct answers at once: --latency, --error-rate, --drop-rate and --close-rate need --engine nio (or auto)", command: "serve")
        }
        configuration.engine = engine
        return configuration
    }

    static func run(_ args: ParsedArguments) async throws -> ExitCode {
        let configuration = try configuration(args)
        let registrar = try args[Options.register] ? Registrar(args) : nil
        let logger = Logs.make("serve")
        // A stand-in for a fleet takes many connections: use every file descriptor the hard limit allows.
        FileLimit.raise()
        let server: ReferenceServer
        do {
            server = try await ReferenceServer.start(configuration, logger: logger)
        } catch let error as ServerError {
            guard let address = error.address else { throw CommandError(error.description) }
            throw CommandError("cannot listen on \(address): \(error.reason) — choose another --listen/--port, or stop what holds it")
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
        Output.err("\(signal): draining (up to \(formatDuration(args[Options.drainTimeout])))…")
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
