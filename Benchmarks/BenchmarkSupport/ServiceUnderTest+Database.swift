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
        var url = URLComponents(string: databaseURL)!
        url.path = "/" + name
        if migrated {
            let migrator = try Migrator(directory: URL(fileURLWithPath: migrations))
            _ = try await DatabaseConfiguration(url: url.string!).withClient(logger: logger) {
                try await migrator.migrate($0, logger: logger)
            }
        }
        return url.string!
    }
}
