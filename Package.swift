// swift-tools-version: 6.1
// DJCore — a real-time DJ engine for Linux. GPL-3.0-or-later (links FFTW).
import Foundation
import PackageDescription

/// DJCORE_CORE_ONLY=1 leaves out the daemon (DJServer, djd and their tests) and the server packages it
/// needs (Hummingbird, SwiftNIO, ...): the real-time sanitizer build and quick library work need only the
/// engine, and the server packages take minutes to build on two cores.
let coreOnly = ProcessInfo.processInfo.environment["DJCORE_CORE_ONLY"] == "1"

var dependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
]
if !coreOnly {
    dependencies += [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ]
}

var targets: [Target] = [
    .target(
        name: "CDSP",
        cSettings: [
            .unsafeFlags(["-O3", "-march=x86-64-v3"], .when(configuration: .release)),
            .unsafeFlags(["-O1"], .when(configuration: .debug)),
        ],
        linkerSettings: [
            .linkedLibrary("asound"), .linkedLibrary("sndfile"), .linkedLibrary("fftw3f"),
            .linkedLibrary("samplerate"), .linkedLibrary("m"), .linkedLibrary("pthread"),
        ]
    ),
    // SQLite 3 from Debian's libsqlite3-dev: the state store (library, playlists, tasks, settings).
    .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
    .target(
        name: "DJCore",
        dependencies: [
            "CDSP", "CSQLite",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]
    ),
    // Test-only C support: a counting malloc interposer and weak RealtimeSanitizer hooks.
    .target(name: "CRTCheck", path: "Tests/CRTCheck"),
    .testTarget(name: "CDSPTests", dependencies: ["CDSP", "CRTCheck"]),
    .testTarget(
        name: "DJCoreTests",
        dependencies: ["DJCore", "CDSP", "CRTCheck", .product(name: "Logging", package: "swift-log")]
    ),
]
var products: [Product] = [.library(name: "DJCore", targets: ["DJCore"])]
if !coreOnly {
    products += [
        .library(name: "DJServer", targets: ["DJServer"]),
        .executable(name: "djd", targets: ["djd"]),
    ]
    targets += [
        // The daemon behind `djd serve`: HTTP + WebSocket API, auth, metrics, OpenAPI. A library so that
        // tests start it in-process.
        .target(
            name: "DJServer",
            dependencies: [
                "DJCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "djd",
            dependencies: [
                "DJCore", "DJServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "djdTests", dependencies: ["djd"]),
        .testTarget(
            name: "DJServerTests",
            dependencies: [
                "DJServer", "DJCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ]
        ),
    ]
}

let package = Package(
    name: "DJCore",
    platforms: [.macOS(.v15)],
    products: products,
    dependencies: dependencies,
    targets: targets
)
