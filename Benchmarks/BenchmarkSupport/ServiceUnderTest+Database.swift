import Foundation
import Logging
import PostgresNIO
import ReminderStore

extension ServiceUnderTest {
    /// Creates the database `name` on the server of `databaseURL` and returns its URL: each
    /// run and each scenario gets a database of its own.
    public func createDatabase(_ name: String) async throws -> String {
        let logger = Logger(label: "benchmark-support")
        _ = try await DatabaseConfiguration(url: databaseURL).withClient(logger: logger) {
            try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        var url = URLComponents(string: databaseURL)!
        url.path = "/" + name
        return url.string!
    }
}
