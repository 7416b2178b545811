import Foundation
import TestSupport

/// `notification-service serve` as a process of its own (built beside the tests), on
/// the test broker and the given database, for the tests that kill it.
enum ServeProcess {
    static let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("notification-service")

    /// `settings` are added to the environment (and win over the defaults here).
    static func launch(topic: String, group: String, databaseURL: String, settings: [String: String] = [:]) throws
        -> Process
    {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve"]
        var environment = ProcessInfo.processInfo.environment
        environment["KAFKA_BOOTSTRAP_SERVERS"] = LocalStack.kafkaBootstrapServers
        environment["DATABASE_URL"] = databaseURL
        environment["REMINDERS_TOPIC"] = topic
        environment["KAFKA_GROUP_ID"] = group
        environment["KAFKA_SESSION_TIMEOUT_MS"] = "6000"
        environment["NOTIFICATION_MIGRATIONS_DIR"] = TestDatabase.migrations.path
        environment.merge(settings) { $1 }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}
