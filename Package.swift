// swift-tools-version: 6.2
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Prolo",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "prolo", targets: ["prolo"]),
        .library(name: "ProloDomain", targets: ["ProloDomain"]),
        .library(name: "ProloStore", targets: ["ProloStore"]),
        .library(name: "ProloProjections", targets: ["ProloProjections"]),
        .library(name: "ProloSync", targets: ["ProloSync"]),
        .library(name: "ProloAudit", targets: ["ProloAudit"]),
        .library(name: "ProloExport", targets: ["ProloExport"]),
        .library(name: "ProloPostgres", targets: ["ProloPostgres"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // The clinic server (HTTP/1.1 and TLS on SwiftNIO) and the sync client; swift-log for structured logs.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // Already in the graph through Hummingbird; named so ByteBuffer and TLS types can be imported directly.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // The PostgreSQL backend for clinic hubs (issue 14): the Swift server ecosystem's non-blocking, pooled client,
        // so hundreds of devices never block the server's threads. Its graph is mostly NIO, crypto and logging,
        // already built for Hummingbird; it adds swift-metrics, swift-atomics and its connection pool.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Property-based tests (random histories, random arrival orders); test-only, builds in seconds.
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "ProloDomain",
            dependencies: ["CZlib", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ProloStore",
            dependencies: ["ProloDomain", "CSQLite", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ProloProjections",
            dependencies: ["ProloDomain", "ProloStore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ProloSync",
            dependencies: [
                "ProloDomain", "ProloStore", "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // HTML text with escaping, for the audit report and the clinic's pages; no dependencies.
        .target(name: "ProloHTML", swiftSettings: strictSettings),
        .target(
            name: "ProloAudit",
            dependencies: ["ProloDomain", "ProloStore", "ProloProjections", "ProloHTML"],
            swiftSettings: strictSettings
        ),
        // FHIR R4 export of the projection and the log (issue 16); reads the store through its public API only.
        .target(
            name: "ProloExport",
            dependencies: [
                "ProloDomain", "ProloStore", "ProloProjections",
                // HMAC-SHA256 for the research export's pseudonyms.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // The PostgreSQL backend: the log's tables in a PostgreSQL database, moving a SQLite store up, the audit
        // over it (ChainAudit's rules, a PostgreSQL driver) and the treatment read models (PatientFoldUpdate's rule).
        .target(
            name: "ProloPostgres",
            dependencies: [
                "ProloDomain", "ProloStore", "ProloProjections", "ProloAudit",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        // The clinic's web pages, rendered from the read models as HTML strings; no HTTP in here.
        .target(
            name: "ProloPages",
            dependencies: ["ProloDomain", "ProloStore", "ProloProjections", "ProloAudit", "ProloHTML"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ProloServer",
            dependencies: [
                "ProloDomain", "ProloStore", "ProloProjections", "ProloSync", "ProloHTTPSync", "ProloExport",
                "ProloPages", "ProloPostgres",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ProloHTTPSync",
            dependencies: [
                "ProloDomain", "ProloStore", "ProloSync",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "prolo",
            dependencies: [
                "ProloDomain", "ProloStore", "ProloProjections", "ProloSync", "ProloServer", "ProloHTTPSync", "ProloAudit",
                "ProloExport", "ProloPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "prolo-bench",
            dependencies: ["ProloDomain", "ProloStore", "ProloProjections", "ProloBenchSupport"],
            path: "Tools/ProloBench",
            swiftSettings: strictSettings
        ),
        .target(
            name: "ProloBenchSupport",
            dependencies: ["ProloDomain", "ProloStore"],
            path: "Tools/BenchSupport",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "prolo-bench-projection",
            dependencies: ["ProloDomain", "ProloStore", "ProloProjections", "ProloSync", "ProloBenchSupport"],
            path: "Tools/ProloBenchProjection",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "prolo-bench-sync",
            dependencies: ["ProloDomain", "ProloStore", "ProloProjections", "ProloSync", "ProloBenchSupport"],
            path: "Tools/ProloBenchSync",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "prolo-bench-http",
            dependencies: [
                "ProloDomain", "ProloStore", "ProloProjections", "ProloSync", "ProloServer", "ProloHTTPSync",
                "ProloBenchSupport", "ProloPostgres",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/ProloBenchHTTP",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "prolo-bench-audit",
            dependencies: ["ProloDomain", "ProloStore", "ProloProjections", "ProloSync", "ProloAudit", "ProloBenchSupport"],
            path: "Tools/ProloBenchAudit",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "prolo-bench-postgres",
            dependencies: ["ProloDomain", "ProloStore", "ProloAudit", "ProloPostgres", "ProloBenchSupport"],
            path: "Tools/ProloBenchPostgres",
            swiftSettings: strictSettings
        ),
        // The machine's Ed25519 sign and verify rates on all cores (issue 13's references); swift-crypto only.
        .executableTarget(
            name: "prolo-bench-machine",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Tools/ProloBenchMachine",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "prolo-bench-pages",
            dependencies: ["ProloDomain", "ProloStore", "ProloProjections", "ProloPages", "ProloBenchSupport"],
            path: "Tools/ProloBenchPages",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "prolo-bench-export",
            dependencies: ["ProloDomain", "ProloStore", "ProloExport", "ProloBenchSupport"],
            path: "Tools/ProloBenchExport",
            swiftSettings: strictSettings
        ),
        // What each fuzz target does with one input, shared by the libFuzzer executables and the corpus replay test.
        .target(
            name: "ProloFuzzChecks",
            dependencies: ["ProloDomain", "ProloSync", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tools/Fuzz/Checks",
            swiftSettings: strictSettings),
        .executableTarget(
            name: "prolo-fuzz-event", dependencies: ["ProloFuzzChecks"], path: "Tools/Fuzz/EventDecoder",
            swiftSettings: strictSettings),
        .executableTarget(
            name: "prolo-fuzz-bundle", dependencies: ["ProloFuzzChecks"], path: "Tools/Fuzz/BundleReader",
            swiftSettings: strictSettings),
        .executableTarget(
            name: "prolo-fuzz-batch", dependencies: ["ProloFuzzChecks"], path: "Tools/Fuzz/BatchDecoder",
            swiftSettings: strictSettings),
        .target(
            name: "ProloTestSupport",
            dependencies: [
                "ProloDomain", "ProloStore", "ProloProjections", "ProloSync", "ProloPostgres",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/ProloTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProloDomainTests",
            dependencies: ["ProloDomain", "ProloTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProloStoreTests",
            dependencies: ["ProloStore", "ProloTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProloProjectionsTests",
            dependencies: [
                "ProloProjections", "ProloTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProloSyncTests",
            dependencies: [
                "ProloSync", "ProloTestSupport", "ProloFuzzChecks",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProloAuditTests",
            dependencies: ["ProloAudit", "ProloPostgres", "ProloTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProloExportTests",
            dependencies: ["ProloExport", "ProloTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProloPagesTests",
            dependencies: ["ProloPages", "ProloHTML", "ProloTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProloServerTests",
            dependencies: [
                "ProloServer", "ProloHTTPSync", "ProloTestSupport", "ProloExport", "ProloPages", "ProloAudit",
                "ProloPostgres",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProloPostgresTests",
            dependencies: ["ProloPostgres", "ProloAudit", "ProloTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProloCLITests",
            dependencies: ["ProloStore", "ProloTestSupport"],
            swiftSettings: strictSettings
        ),
    ]
)
