import Foundation
import Logging
import PostgresNIO
import ReminderStore

/// Whether the PostgreSQL a benchmark measures against keeps commits on a crash, as the
/// server itself says (`SHOW`): every figure is printed with it, since the fast settings
/// (fsync off) change ingest rates several times over.
public struct PostgresDurability: Sendable {
    public let fsync: String
    public let synchronousCommit: String
    public let fullPageWrites: String

    /// Asks the server at `databaseURL`.
    public static func read(databaseURL: String) async throws -> PostgresDurability {
        let logger = quietLogger("benchmark-support")
        return try await DatabaseConfiguration(url: databaseURL).withClient(logger: logger) { client in
            func show(_ setting: String) async throws -> String {
                try await client.query(PostgresQuery(unsafeSQL: "SHOW \(setting)"), logger: logger).collect()
                    .first?.decode(String.self) ?? "?"
            }
            return PostgresDurability(
                fsync: try await show("fsync"), synchronousCommit: try await show("synchronous_commit"),
                fullPageWrites: try await show("full_page_writes"))
        }
    }

    /// fsync, synchronous_commit and full_page_writes all on.
    public var isDurable: Bool { fsync == "on" && synchronousCommit == "on" && fullPageWrites == "on" }

    /// "(durable)" or "(fast)", for the summary lines.
    public var tag: String { isDurable ? "(durable)" : "(fast)" }

    /// The report's header line.
    public var header: String {
        let settings = "fsync \(fsync), synchronous_commit \(synchronousCommit), full_page_writes \(fullPageWrites)"
        return isDurable ? "PostgreSQL: durable (\(settings))" : "PostgreSQL: FAST, not durable (\(settings))"
    }
}
