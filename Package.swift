// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "mindalpha-pool",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mindalpha-pool", targets: ["mindalpha-pool"]),
        .library(name: "MindAlphaWire", targets: ["MindAlphaWire"]),
        .library(name: "MindAlphaServer", targets: ["MindAlphaServer"]),
        .library(name: "MindAlphaPool", targets: ["MindAlphaPool"]),
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
                "MindAlphaWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The library: Discovery (Consul client, watch, lint); later Scheduling, Pool, Bench.
        .target(
            name: "MindAlphaPool",
            dependencies: [
                "MindAlphaWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // An in-memory, single-node, Consul-compatible agent for tests and demos.
        .target(
            name: "ConsulDevAgent",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The hand-written argument parser: specs, tokenizer, typed values, help, suggestions.
        .target(name: "CommandLineKit"),
        // The REPL's interpreter: commands over a LineReader, results as text and JSON; no terminal code.
        .target(
            name: "MindAlphaREPL",
            dependencies: [
                "MindAlphaPool",
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
                "ConsulDevAgent",
                "CommandLineKit",
                "MindAlphaREPL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
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
                "MindAlphaServer",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "SchedulingTests", dependencies: ["MindAlphaPool"]),
        // The load engine's pure parts: the open loop's schedule, the per-second timeline, thresholds, merging.
        .testTarget(
            name: "LoadTests",
            dependencies: ["MindAlphaPool", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "PoolTests",
            dependencies: [
                "MindAlphaPool",
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
                "MindAlphaServer",
                "ConsulDevAgent",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
