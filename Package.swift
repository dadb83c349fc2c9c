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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
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
            dependencies: ["ProloDomain", "CSQLite"],
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
                "ProloDomain", "ProloStore", "ProloProjections", "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "prolo",
            dependencies: [
                "ProloDomain", "ProloStore", "ProloProjections", "ProloSync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "prolo-bench",
            dependencies: ["ProloDomain", "ProloStore", "ProloProjections"],
            path: "Tools/ProloBench",
            swiftSettings: strictSettings
        ),
        .target(
            name: "ProloTestSupport",
            dependencies: [
                "ProloDomain", "ProloStore", "ProloProjections", "ProloSync",
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
                "ProloSync", "ProloTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProloCLITests",
            dependencies: ["ProloStore", "ProloTestSupport"],
            swiftSettings: strictSettings
        ),
    ]
)
