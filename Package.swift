// swift-tools-version:6.0
import PackageDescription

// Layers, top to bottom; each target depends only on targets above it.
//   C shims (CLibUV, CHTTPParser, CSQLite)  →  EspyCore (pure model)
//   EspyLoop (sole libuv user)  →  EspyHTTP (sans-I/O HTTP)  →  EspyHTTPServer / EspyHTTPClient (HTTP on the loop)
//   EspyGossipWire (memberlist wire format, pure)  →  EspyGossip (SWIM core, pure)
//   EspyCluster (placement, membership reaction, planning, pure)  →  EspyGossipCluster (gossip events → member changes)
//   EspyStorage (sole SQLite user)  →  EspyAPI (/v1 endpoints)  →  EspyNode (wiring)  →  espymetrics (CLI)
//   EspyDashboard (the /ui/ page, on EspyHTTP)  →  EspyNode
let package = Package(
    name: "EspyMetrics",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "espymetrics", targets: ["espymetrics"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CHTTPParser", providers: [.apt(["libhttp-parser-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        .target(name: "EspyCore", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "EspyLoop", dependencies: ["CLibUV"]),
        .target(name: "EspyGossipWire", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "EspyGossip", dependencies: ["EspyCore", "EspyGossipWire"]),
        .target(name: "EspyHTTP", dependencies: ["CHTTPParser", "EspyCore"]),
        .target(name: "EspyCluster", dependencies: ["EspyCore"]),
        .target(name: "EspyGossipCluster", dependencies: ["EspyCore", "EspyCluster", "EspyGossip", "EspyGossipWire"]),
        .target(name: "EspyHTTPServer", dependencies: [
            "EspyLoop", "EspyHTTP", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "EspyHTTPClient", dependencies: ["EspyLoop", "EspyHTTP"]),
        .target(name: "EspyDashboard", dependencies: ["EspyHTTP"], resources: [
            .embedInCode("Resources/index.html"), .embedInCode("Resources/app.js"), .embedInCode("Resources/style.css"),
        ]),
        .target(name: "EspyStorage", dependencies: [
            "CSQLite", "EspyCore", "EspyLoop", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "EspyWire", dependencies: ["EspyCore", "EspyCluster", "EspyHTTP"]),
        .target(name: "EspyAPI", dependencies: [
            "EspyCore", "EspyCluster", "EspyLoop", "EspyHTTP", "EspyStorage", "EspyWire", .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"), .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "EspyCoordination", dependencies: [
            "EspyCore", "EspyCluster", "EspyLoop", "EspyHTTP", "EspyHTTPClient", "EspyStorage", "EspyAPI", "EspyWire",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        .target(name: "EspyNode", dependencies: [
            "EspyCore", "EspyLoop", "EspyHTTPServer", "EspyStorage", "EspyAPI", "EspyGossipWire", "EspyGossip",
            "EspyCluster", "EspyGossipCluster", "EspyCoordination", "EspyHTTPClient", "EspyDashboard",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "espymetrics", dependencies: [
            "EspyNode", "EspyCore", "EspyLoop", "EspyHTTP", "EspyHTTPClient", "EspyStorage",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),

        .target(name: "EspyTestRandom", path: "Tests/EspyTestRandom"),
        .target(name: "EspyTestKit", dependencies: ["EspyLoop", "EspyTestRandom"], path: "Tests/EspyTestKit"),
        .target(name: "EspySimulation", dependencies: [
            "EspyCore", "EspyGossip", "EspyGossipWire", "EspyCluster", "EspyGossipCluster", "EspyTestRandom",
        ], path: "Tests/EspySimulation"),
        .testTarget(name: "EspyCoreTests", dependencies: ["EspyCore", "EspyTestRandom"]),
        .testTarget(name: "EspyGossipWireTests", dependencies: ["EspyGossipWire", "EspyTestRandom"]),
        .testTarget(name: "EspyGossipTests", dependencies: ["EspyGossip", "EspyTestRandom"]),
        .testTarget(name: "EspySimulationTests", dependencies: ["EspySimulation", "EspyGossip", "EspyCluster"]),
        .testTarget(name: "EspyClusterTests", dependencies: ["EspyCluster", "EspyTestRandom"]),
        .testTarget(name: "EspyLoopTests", dependencies: ["EspyLoop", "EspyTestKit"]),
        .testTarget(name: "EspyHTTPTests", dependencies: ["EspyHTTP"]),
        .testTarget(name: "EspyHTTPServerTests", dependencies: ["EspyHTTPServer", "EspyTestKit"]),
        .testTarget(name: "EspyHTTPClientTests", dependencies: ["EspyHTTPClient", "EspyHTTPServer", "EspyTestKit"]),
        .testTarget(name: "EspyStorageTests", dependencies: ["EspyStorage", "EspyTestKit", "EspyTestRandom"]),
        .testTarget(name: "EspyWireTests", dependencies: ["EspyWire", "EspyCore", "EspyCluster"]),
        .testTarget(name: "EspyNodeTests", dependencies: [
            "EspyNode", "EspyTestKit", "EspyCore", "EspyLoop", "EspyHTTP", "EspyHTTPServer", "EspyGossip", "EspyGossipWire", "EspyCluster",
            "EspyCoordination", "EspyStorage", "EspyAPI",
        ]),
        .testTarget(name: "EspyIntegrationTests", dependencies: ["espymetrics", "EspyTestKit", "EspyTestRandom", "EspyAPI", "EspyHTTP"]),
    ],
    swiftLanguageModes: [.v5]
)

// Release builds leave out the run-time exclusivity checks of our own modules: on the request
// path they cost about a tenth of a health check's CPU (perf: swift_beginAccess and its
// thread-local access set). Debug builds, which every test runs, keep them.
for target in package.targets where target.type == .regular || target.type == .executable {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
}
