// swift-tools-version: 6.1
// DJCore — a real-time DJ engine for Linux. GPL-3.0-or-later (links FFTW).
import PackageDescription

let package = Package(
    name: "DJCore",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DJCore", targets: ["DJCore"]),
        .executable(name: "djd", targets: ["djd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
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
        .target(name: "DJCore", dependencies: ["CDSP"]),
        .executableTarget(
            name: "djd",
            dependencies: ["DJCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Test-only C support: a counting malloc interposer and weak RealtimeSanitizer hooks.
        .target(name: "CRTCheck", path: "Tests/CRTCheck"),
        .testTarget(name: "CDSPTests", dependencies: ["CDSP", "CRTCheck"]),
        .testTarget(name: "DJCoreTests", dependencies: ["DJCore", "CDSP", "CRTCheck"]),
        .testTarget(name: "djdTests", dependencies: ["djd"]),
    ]
)
