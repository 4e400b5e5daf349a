// swift-tools-version:6.0
// The libFuzzer harness: `make fuzz` (scripts/fuzz.sh) builds it with -sanitize=fuzzer,address and runs every
// target of MindAlphaFuzz on its corpus. Not part of `swift build` of the project itself.
import PackageDescription

let package = Package(
    name: "mindalpha-fuzz",
    dependencies: [.package(name: "mindalpha-pool", path: "../..")],
    targets: [
        .executableTarget(
            name: "mindalpha-fuzz",
            dependencies: [.product(name: "MindAlphaFuzz", package: "mindalpha-pool")]
        ),
    ]
)
