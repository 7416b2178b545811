import Foundation
import Logging
import PostgresNIO
import ReminderStore

/// A fresh database per test, created on the test PostgreSQL (see `LocalStack`) and
/// dropped afterwards. The user of `DATABASE_URL` needs the CREATEDB privilege.
public enum TestDatabase {
    public static let logger = Logger(label: "store-tests")
    public static let migrations = LocalStack.root.appendingPathComponent("migrations")

    /// The one integer a query such as `SELECT count(*)::int8 …` answers.
    public static func count(_ client: PostgresClient, _ sql: String) async throws -> Int {
        try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect().first!.decode(Int.self)
    }

    public static func withDatabase<T: Sendable>(
        migrated: Bool = true, _ body: (PostgresClient, DatabaseConfiguration) async throws -> T
    ) async throws -> T {
        let admin = try DatabaseConfiguration(url: LocalStack.databaseURL)
        let name = "test_\(UUID().uuidString.prefix(8).lowercased())"
        _ = try await withClient(admin) { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        var configuration = admin
        configuration.database = name
        let outcome: Result<T, any Error>
        do {
            outcome = .success(
                try await withClient(configuration) { client in
                    if migrated { try await Migrator(directory: migrations).migrate(client, logger: logger) }
                    return try await body(client, configuration)
                })
        } catch {
            outcome = .failure(error)
        }
        _ = try? await withClient(admin) { client in
            try await client.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
        return try outcome.get()
    }

    public static func withClient<T: Sendable>(
        _ configuration: DatabaseConfiguration, _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        try await configuration.withClient(logger: logger, body)
    }
}
