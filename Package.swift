// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "mindalpha-pool",
    platforms: [.macOS(.v15)],  // Synchronization's Atomic and Mutex
    products: [
        .executable(name: "mindalpha-pool", targets: ["mindalpha-pool"]),
        .library(name: "MindAlphaWire", targets: ["MindAlphaWire"]),
        .library(name: "MindAlphaServer", targets: ["MindAlphaServer"]),
        .library(name: "MindAlphaPool", targets: ["MindAlphaPool"]),
        .library(name: "MindAlphaDiscovery", targets: ["MindAlphaDiscovery"]),
        .library(name: "MindAlphaBench", targets: ["MindAlphaBench"]),
        .library(name: "ConsulDevAgent", targets: ["ConsulDevAgent"]),
        // What the libFuzzer harness in Tests/Fuzz drives (make fuzz).
        .library(name: "MindAlphaFuzz", targets: ["MindAlphaFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // Wire format: frame header, NIO decoders, FlatBuffers Request/Response, BKDR, IndexBatch.
        .target(
            name: "MindAlphaWire",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // The reference MindAlpha-Serving-compatible server, as a library.
        .target(
            name: "MindAlphaServer",
            dependencies: [
                "CEpoll",
                "MindAlphaWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The layers a user embeds, each on the one below:
        //   MindAlphaWire ← MindAlphaPool ← MindAlphaDiscovery (Consul) and MindAlphaBench (load, reports).
        // The pool: instances and weights, scheduling, connections, fed by any InstanceSource (a fixed list built in).
        .target(
            name: "MindAlphaPool",
            dependencies: [
                "CEpoll",
                "MindAlphaWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Consul: the HTTP client, blocking-query watch, registration lint, and a Consul InstanceSource for the pool.
        .target(
            name: "MindAlphaDiscovery",
            dependencies: [
                "MindAlphaPool",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Load through the pool: closed and open loops, the recorder, reports, thresholds, merging.
        .target(
            name: "MindAlphaBench",
            dependencies: [
                "MindAlphaPool",
                "MindAlphaWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // An in-memory, single-node, Consul-compatible agent for tests and demos.
        .target(
            name: "ConsulDevAgent",
            dependencies: [
                "MindAlphaWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The hand-written argument parser: specs, tokenizer, typed values, help, suggestions.
        .target(name: "CommandLineKit", dependencies: ["MindAlphaWire"]),
        // The REPL's interpreter: commands over a LineReader, results as text and JSON; no terminal code.
        .target(
            name: "MindAlphaREPL",
            dependencies: [
                "MindAlphaPool",
                "MindAlphaBench",
                "MindAlphaWire",
                "CommandLineKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // The fuzz targets: every decoder of what a peer, a file or a user wrote, fed arbitrary bytes. Driven by
        // libFuzzer from Tests/Fuzz (make fuzz); their corpus is replayed by FuzzCorpusTests (make test).
        .target(
            name: "MindAlphaFuzz",
            dependencies: [
                "MindAlphaWire",
                "MindAlphaPool",
                "MindAlphaDiscovery",
                "MindAlphaBench",
                "ConsulDevAgent",
                "CommandLineKit",
                "MindAlphaREPL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // epoll, eventfd and non-blocking connects, for the direct engines of the reference server and the pool (Linux).
        .systemLibrary(name: "CEpoll"),
        // GNU readline (libreadline-dev), for the REPL.
        .systemLibrary(
            name: "CReadline",
            providers: [.apt(["libreadline-dev"])]
        ),
        .executableTarget(
            name: "mindalpha-pool",
            dependencies: [
                "MindAlphaWire",
                "MindAlphaServer",
                "MindAlphaPool",
                "MindAlphaDiscovery",
                "MindAlphaBench",
                "ConsulDevAgent",
                "CommandLineKit",
                "CReadline",
                "MindAlphaREPL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // make perf: the schedulers' pick cost for 10 and 10,000 instances.
        .executableTarget(name: "scheduler-bench", dependencies: ["MindAlphaPool"]),
        // make perf: the pool's per-request cost (closed loop against refserver) and its scale (10,000 connections).
        .executableTarget(
            name: "pool-bench",
            dependencies: [
                "MindAlphaPool",
                "MindAlphaBench",
                "MindAlphaWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "MindAlphaWireTests",
            dependencies: [
                "MindAlphaWire",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        // Helpers shared by the test targets: a frame client over real sockets, process running.
        .target(
            name: "TestSupport",
            dependencies: [
                "MindAlphaWire",
                "MindAlphaPool",
                "MindAlphaDiscovery",
                "ConsulDevAgent",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "MindAlphaServerTests",
            dependencies: [
                "MindAlphaServer",
                "MindAlphaWire",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "CommandLineKitTests", dependencies: ["CommandLineKit"]),
        .testTarget(name: "FuzzCorpusTests", dependencies: ["MindAlphaFuzz"]),
        .testTarget(
            name: "REPLTests",
            dependencies: [
                "MindAlphaREPL",
                "MindAlphaPool",
                "MindAlphaDiscovery",
                "MindAlphaServer",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "SchedulingTests", dependencies: ["MindAlphaPool"]),
        // The load engine's pure parts: the open loop's schedule, the per-second timeline, thresholds, merging.
        .testTarget(
            name: "LoadTests",
            dependencies: ["MindAlphaBench", "MindAlphaPool", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "PoolTests",
            dependencies: [
                "MindAlphaPool",
                "MindAlphaDiscovery",
                "MindAlphaServer",
                "MindAlphaWire",
                "ConsulDevAgent",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "DiscoveryTests",
            dependencies: [
                "MindAlphaPool",
                "MindAlphaDiscovery",
                "ConsulDevAgent",
                "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "MindAlphaWire",
                "MindAlphaPool",
                "MindAlphaDiscovery",
                "MindAlphaBench",
                "MindAlphaServer",
                "ConsulDevAgent",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
