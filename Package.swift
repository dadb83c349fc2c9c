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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
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
        .executableTarget(
            name: "prolo",
            dependencies: [
                "ProloDomain", "ProloStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "prolo-bench",
            dependencies: ["ProloDomain", "ProloStore"],
            path: "Tools/ProloBench",
            swiftSettings: strictSettings
        ),
        .target(
            name: "ProloTestSupport",
            dependencies: ["ProloDomain", "ProloStore"],
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
            name: "ProloCLITests",
            dependencies: ["ProloStore", "ProloTestSupport"],
            swiftSettings: strictSettings
        ),
    ]
)
