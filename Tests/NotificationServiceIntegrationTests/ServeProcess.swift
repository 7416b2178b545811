import Foundation
import TestSupport

/// `notification-service serve` as a process of its own (built beside the tests), on
/// the test broker and the given database, for the tests that kill it.
enum ServeProcess {
    static let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("notification-service")

    /// `settings` are added to the environment (and win over the defaults here); the
    /// process's output goes to `output` (JSON log lines), or nowhere.
    static func launch(
        topic: String, group: String, databaseURL: String, settings: [String: String] = [:],
        arguments: [String] = ["serve"], output: FileHandle? = nil
    ) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["KAFKA_BOOTSTRAP_SERVERS"] = LocalStack.kafkaBootstrapServers
        environment["DATABASE_URL"] = databaseURL
        environment["REMINDERS_TOPIC"] = topic
        environment["KAFKA_GROUP_ID"] = group
        environment["KAFKA_SESSION_TIMEOUT_MS"] = "6000"
        environment["NOTIFICATION_MIGRATIONS_DIR"] = TestDatabase.migrations.path
        // Any free port: tests run side by side, and a port taken stops the service.
        environment["HTTP_PORT"] = "0"
        environment.merge(settings) { $1 }
        process.environment = environment
        process.standardOutput = output ?? FileHandle.nullDevice
        process.standardError = output ?? FileHandle.nullDevice
        try process.run()
        return process
    }
}

extension Process {
    /// Waits up to `limit` for the process to end; its exit status (128 + the signal when
    /// one ended it), or nil when it is still running.
    func exitStatus(within limit: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + limit
        while isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(50))
        }
        return terminationReason == .uncaughtSignal ? 128 + terminationStatus : terminationStatus
    }
}
