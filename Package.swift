// swift-tools-version:6.1
import Foundation
import PackageDescription

// When librdkafka comes from the project's own build (scripts/setup.sh), its directory
// is embedded as the run path: the system's librdkafka.so.1 (Debian's 2.0.2) has the
// same soname and would otherwise be loaded silently in its place.
let rdkafkaRunPath: [LinkerSetting] = {
    guard let path = ProcessInfo.processInfo.environment["RDKAFKA_RPATH"], !path.isEmpty else { return [] }
    return [.unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", path])]
}()

// The service links with lld and packs its relative relocations (DT_RELR, glibc 2.36+):
// as a position-independent executable it has some 62,000 of them, and gold's table of
// 1.8 MiB was read whole at start and stayed resident (docs/benchmarks.md, "Decoding the
// next batch while storing one").
let packedRelocations: [LinkerSetting] = [
    .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(platforms: [.linux]))
]

let package = Package(
    name: "notification-service",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Kafka", targets: ["Kafka"]),
        // For the benchmarks and the fault suite (Benchmarks/Package.swift).
        .library(name: "ReminderCore", targets: ["ReminderCore"]),
        .library(name: "ReminderStore", targets: ["ReminderStore"]),
        .library(name: "TestSupport", targets: ["TestSupport"]),
        // In-memory stores that decide as the PostgreSQL ones do, for tests without a database.
        .library(name: "ReminderStoreTesting", targets: ["ReminderStoreTesting"]),
        .executable(name: "notification-service", targets: ["notification-service"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/apple/swift-service-context", from: "1.5.1"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context", from: "1.0.0"),
        // OTLP over HTTP only: the gRPC exporter's packages stay out of the build.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: rdkafkaRunPath
        ),
        // jemalloc for the service's process on Linux, with its settings
        // (Sources/CJemalloc/settings.c); elsewhere the system's allocator.
        .target(name: "CJemalloc", linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]),
        .target(name: "ReminderCore"),
        .target(
            name: "ReminderStore",
            dependencies: [
                "ReminderCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                // AES-GCM for the personal fields sealed at rest (DATA_ENCRYPTION_KEYS).
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "ReminderStoreTesting", dependencies: ["ReminderStore", "ReminderCore"]),
        .target(
            name: "Delivery",
            dependencies: [
                "ReminderCore",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "ServiceContextModule", package: "swift-service-context"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                // RSA signatures (RS256) for Google service-account assertions.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "NotificationService",
            dependencies: [
                "Kafka", "ReminderCore", "ReminderStore", "Delivery",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "ServiceContextModule", package: "swift-service-context"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            linkerSettings: rdkafkaRunPath
        ),
        .executableTarget(
            name: "notification-service",
            dependencies: [
                "CJemalloc", "Kafka", "NotificationService", "ReminderCore", "ReminderStore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: rdkafkaRunPath + packedRelocations
        ),
        // Unit tests: no broker, database or child process (scripts/test.sh --unit).
        .testTarget(
            name: "ReminderCoreTests",
            dependencies: ["ReminderCore", "TestSupport"]
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: ["Kafka"],
            linkerSettings: rdkafkaRunPath
        ),
        .testTarget(
            name: "ReminderStoreTests",
            dependencies: [
                "ReminderStore", "ReminderCore", "ReminderStoreTesting", "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "DeliveryTests",
            dependencies: [
                "Delivery", "ReminderCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "NotificationServiceTests",
            dependencies: [
                "NotificationService", "Kafka", "ReminderCore", "ReminderStore", "ReminderStoreTesting", "Delivery",
                "TestSupport", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                // AdminAPI's routes served in the test's process, without a socket.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                // Fresh push keys for the settings tests (never a committed one).
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            linkerSettings: rdkafkaRunPath
        ),
        // Integration tests: the real broker, PostgreSQL and protocol peers on loopback.
        .target(
            name: "TestSupport",
            dependencies: [
                "ReminderStore", "ReminderCore", "NotificationService",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "KafkaIntegrationTests",
            dependencies: ["Kafka", "TestSupport"],
            linkerSettings: rdkafkaRunPath
        ),
        .testTarget(
            name: "ReminderStoreIntegrationTests",
            dependencies: [
                "ReminderStore", "ReminderCore", "TestSupport", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "DeliveryIntegrationTests",
            dependencies: [
                "Delivery", "ReminderCore", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "NotificationServiceIntegrationTests",
            dependencies: [
                "NotificationService", "Kafka", "ReminderCore", "ReminderStore", "TestSupport", "Delivery",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            linkerSettings: rdkafkaRunPath
        ),
    ],
    swiftLanguageModes: [.v6]
)
