// swift-tools-version:6.1
import Foundation
import PackageDescription

// The benchmarks and the fault suite, a package of their own so that building or testing
// the service does not compile them. They use the service's modules through the package
// one folder up; scripts/bench*.sh and scripts/chaos.sh build both.

// The run path of the project's own librdkafka (scripts/setup.sh), as in ../Package.swift.
let rdkafkaRunPath: [LinkerSetting] = {
    guard let path = ProcessInfo.processInfo.environment["RDKAFKA_RPATH"], !path.isEmpty else { return [] }
    return [.unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", path])]
}()

// A package found by path is named after its folder, which is wherever the repository
// was cloned.
let service = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "notification-service-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .executableTarget(
            name: "kafka-benchmark",
            dependencies: [
                .product(name: "Kafka", package: service),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "KafkaBenchmark",
            linkerSettings: rdkafkaRunPath
        ),
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                .product(name: "ReminderCore", package: service),
                .product(name: "ReminderStore", package: service),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "BenchmarkSupport"
        ),
        .executableTarget(
            name: "ingest-benchmark",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Kafka", package: service),
                .product(name: "ReminderStore", package: service),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "IngestBenchmark",
            linkerSettings: rdkafkaRunPath
        ),
        .executableTarget(
            name: "dispatch-benchmark",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Kafka", package: service),
                .product(name: "ReminderCore", package: service),
                .product(name: "ReminderStore", package: service),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "DispatchBenchmark",
            linkerSettings: rdkafkaRunPath
        ),
        .executableTarget(
            name: "soak-benchmark",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Kafka", package: service),
                .product(name: "ReminderStore", package: service),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "SoakBenchmark",
            linkerSettings: rdkafkaRunPath
        ),
        .executableTarget(
            name: "rate-limit-benchmark",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Kafka", package: service),
                .product(name: "ReminderStore", package: service),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "RateLimitBenchmark",
            linkerSettings: rdkafkaRunPath
        ),
        .executableTarget(
            name: "chaos-suite",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Kafka", package: service),
                .product(name: "ReminderStore", package: service),
                .product(name: "TestSupport", package: service),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "ChaosSuite",
            linkerSettings: rdkafkaRunPath
        ),
    ],
    swiftLanguageModes: [.v6]
)
