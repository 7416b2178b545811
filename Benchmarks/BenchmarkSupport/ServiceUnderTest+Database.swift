import Foundation
import Logging
import PostgresNIO
import ReminderStore

extension ServiceUnderTest {
    /// Creates the database `name` on the server of `databaseURL` and returns its URL: each
    /// run and each scenario gets a database of its own. With `migrated`, the service's
    /// migrations are applied to it (for a contender that is not the service, which
    /// migrates its own on start).
    public func createDatabase(_ name: String, migrated: Bool = false) async throws -> String {
        let logger = quietLogger("benchmark-support")
        _ = try await DatabaseConfiguration(url: databaseURL).withClient(logger: logger) {
            try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        let url = databaseURL(of: name)
        if migrated {
            let migrator = try Migrator(directory: URL(fileURLWithPath: migrations))
            _ = try await DatabaseConfiguration(url: url).withClient(logger: logger) {
                try await migrator.migrate($0, logger: logger)
            }
        }
        return url
    }

    /// The URL of the database `name` on the server of `databaseURL`.
    func databaseURL(of name: String) -> String {
        var url = URLComponents(string: databaseURL)!
        url.path = "/" + name
        return url.string!
    }

    /// Runs `VACUUM (ANALYZE)` on every table of the database `name`, the work
    /// autovacuum would do after what was written there (dead rows above all), then a
    /// checkpoint, which writes its dirty pages: what a contender leaves for the server
    /// after its window. Returns PostgreSQL's CPU seconds for it (nil: not measured).
    public func vacuumAndCheckpoint(_ name: String) async throws -> Double? {
        let logger = quietLogger("benchmark-support")
        let window = CPUWindow(processes: [], postmaster: postmaster)
        try await DatabaseConfiguration(url: databaseURL(of: name)).withClient(logger: logger) { client in
            try await client.query("VACUUM (ANALYZE)", logger: logger)
            try await client.query("CHECKPOINT", logger: logger)
        }
        return window.close().postgresSeconds
    }

    /// Drops the database `name` (closing any session still on it, autovacuum's
    /// included), then settles (`settle`): what one contender left behind is not done in
    /// the next one's window.
    public func dropDatabaseAndSettle(_ name: String) async throws {
        let logger = quietLogger("benchmark-support")
        try await DatabaseConfiguration(url: databaseURL).withClient(logger: logger) { client in
            try await client.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
            try await Self.settle(client, logger: logger)
        }
    }

    /// Has PostgreSQL write a checkpoint and waits, up to a minute, until no autovacuum
    /// worker runs, so that a measurement starts with no dirty pages and no vacuum left
    /// from before it.
    public func settle() async throws {
        let logger = quietLogger("benchmark-support")
        try await DatabaseConfiguration(url: databaseURL).withClient(logger: logger) {
            try await Self.settle($0, logger: logger)
        }
    }

    private static func settle(_ client: PostgresClient, logger: Logger) async throws {
        try await client.query("CHECKPOINT", logger: logger)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let workers =
                try await client.query(
                    "SELECT count(*)::int8 FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'",
                    logger: logger
                ).collect().first?.decode(Int.self) ?? 0
            if workers == 0 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
