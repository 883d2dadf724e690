// swift-tools-version: 6.1
// DJCore benchmark suite (package-benchmark). A separate package so that the
// benchmark dependency and its malloc interposer never reach the DJCore library.
import PackageDescription

let package = Package(
    name: "DJCoreBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "DJCore", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // aubio (libaubio-dev), the peer of the analysis benchmarks, called in-process on the same audio.
        .systemLibrary(name: "CAubio", path: "CAubio"),
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "DJCore", package: "DJCore"),
                .product(name: "Logging", package: "swift-log"),
                "CAubio",
            ],
            path: "Benchmarks/EngineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
