import Foundation
import Logging
import PostgresNIO

/// Applies the SQL files of a migrations folder (`NNNN_description.sql`) in order, each
/// in its own transaction, and records them in `schema_migrations`. An advisory lock
/// makes instances that start together take turns; a file changed after it was applied
/// stops start-up, as does a failed migration, which leaves the database as it was.
public struct Migrator: Sendable {
    public struct Migration: Sendable, Equatable {
        public let version: Int
        public let fileName: String
        public let sql: String

        /// A hash of the text, to notice a file changed after it was applied.
        var checksum: String {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in sql.utf8 {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
            return String(hash, radix: 16)
        }
    }

    /// The key of the advisory lock that serializes migrations across instances.
    static let lockKey: Int64 = 0x6e6f_7469_6679  // "notify"

    public let migrations: [Migration]

    public init(directory: URL) throws(StoreError) {
        func failure(_ message: String) -> StoreError {
            StoreError(code: .migration, operation: "read migrations in \(directory.path)", message: message)
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw failure("the folder cannot be read (set --migrations or NOTIFICATION_MIGRATIONS_DIR)")
        }
        var migrations: [Migration] = []
        for name in names.sorted() where name.hasSuffix(".sql") {
            guard let version = Int(name.prefix { $0.isNumber }), name.first?.isNumber == true else {
                throw failure("\(name) does not start with a version number (NNNN_description.sql)")
            }
            guard let sql = try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) else {
                throw failure("\(name) cannot be read as UTF-8")
            }
            if let previous = migrations.last, previous.version == version {
                throw failure("\(previous.fileName) and \(name) have the same version \(version)")
            }
            migrations.append(Migration(version: version, fileName: name, sql: sql))
        }
        guard !migrations.isEmpty else { throw failure("there are no .sql files") }
        self.migrations = migrations
    }

    /// Applies what is missing; returns the file names it applied.
    @discardableResult
    public func migrate(_ client: PostgresClient, logger: Logger) async throws(StoreError) -> [String] {
        do {
            return try await client.withConnection { connection in
                try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
                do {
                    let applied = try await apply(on: connection, logger: logger)
                    try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                    return applied
                } catch {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                    throw error
                }
            }
        } catch {
            throw StoreError.wrapping(error, code: .migration, operation: "migrate")
        }
    }

    private func apply(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, file_name text NOT NULL, checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: logger)
        var recorded: [Int: (String, String)] = [:]
        for try await (version, fileName, checksum) in try await connection.query(
            "SELECT version, file_name, checksum FROM schema_migrations", logger: logger
        ).decode((Int, String, String).self) {
            recorded[version] = (fileName, checksum)
        }
        var applied: [String] = []
        for migration in migrations {
            if let (fileName, checksum) = recorded[migration.version] {
                guard checksum == migration.checksum else {
                    throw StoreError(
                        code: .migration, operation: "check migration \(migration.fileName)",
                        message: "the file changed after it was applied (as \(fileName)); add a new migration instead")
                }
                continue
            }
            do {
                try await connection.query("BEGIN", logger: logger)
                for statement in SQLScript.statements(migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    """
                    INSERT INTO schema_migrations (version, file_name, checksum)
                    VALUES (\(migration.version), \(migration.fileName), \(migration.checksum))
                    """, logger: logger)
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                let wrapped = StoreError.wrapping(
                    error, code: .migration, operation: "apply migration \(migration.fileName)")
                throw StoreError(
                    code: .migration, operation: wrapped.operation, message: wrapped.message, sqlState: wrapped.sqlState
                )
            }
            logger.info("migration applied", metadata: ["migration": "\(migration.fileName)"])
            applied.append(migration.fileName)
        }
        return applied
    }
}
