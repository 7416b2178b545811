import Logging
import PostgresNIO

/// The key ids rows may be sealed under (`data_encryption_keys`): each id that has been
/// current on some instance, until `notification-service reseal` finds no row under it.
/// Start-up compares it with the configured keys, so that a database holding rows no
/// configured key opens is refused before anything is claimed or relayed, without
/// scanning the big tables.
public struct DataKeyRegistry: Sendable {
    private let client: PostgresClient
    private let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Records `keyID` as one rows are sealed under, before any is.
    public func register(_ keyID: String) async throws(StoreError) {
        do {
            try await client.query(
                "INSERT INTO data_encryption_keys (key_id) VALUES (\(keyID)) ON CONFLICT DO NOTHING", logger: logger)
        } catch {
            throw StoreError.wrapping(error, operation: "register data encryption key id \(keyID)")
        }
    }

    /// The registered key ids, sorted; none when the table does not exist yet (the
    /// migrations were not applied, so nothing was ever sealed).
    public func registered() async throws(StoreError) -> [String] {
        do {
            let rows = try await client.query(
                "SELECT key_id FROM data_encryption_keys ORDER BY key_id", logger: logger)
            var ids: [String] = []
            for try await id in rows.decode(String.self) { ids.append(id) }
            return ids
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P01" {
            return []
        } catch {
            throw StoreError.wrapping(error, operation: "read the data encryption key ids")
        }
    }

    /// The check start-up makes: throws `StoreError` (code `configuration`) naming the
    /// registered key ids that are not configured (without a sealer every registered id
    /// is one); then registers the current key, before anything is sealed with it. A
    /// refused instance registers nothing, so it leaves no id behind that others lack.
    public func verify(_ sealer: DataSealer?) async throws(StoreError) {
        let unknown = Self.unconfigured(registered: try await registered(), configured: sealer?.keyIDs ?? [])
        guard unknown.isEmpty else {
            throw StoreError(
                code: .configuration, operation: "check the data encryption keys",
                message: "DATA_ENCRYPTION_KEYS: the database may hold rows sealed with key id "
                    + unknown.map { "\"\($0)\"" }.joined(separator: ", ")
                    + ", which is not configured (add the key, or run reseal with it before removing it)")
        }
        if let sealer { try await register(sealer.currentKeyID) }
    }

    /// The registered ids not among the configured ones, in order.
    static func unconfigured(registered: [String], configured: [String]) -> [String] {
        let configured = Set(configured)
        return registered.filter { !configured.contains($0) }
    }

    /// Removes the ids other than `current` under which no row is sealed any more;
    /// returns those removed. Scans the sealed tables: for `reseal`, after its pass.
    public func prune(keeping current: String) async throws(StoreError) -> [String] {
        do {
            let rows = try await client.query(
                """
                DELETE FROM data_encryption_keys k WHERE k.key_id <> \(current)
                    AND NOT EXISTS (SELECT 1 FROM reminders WHERE sealed_with = k.key_id)
                    AND NOT EXISTS (SELECT 1 FROM pending_replacements WHERE sealed_with = k.key_id)
                    AND NOT EXISTS (SELECT 1 FROM dead_letters WHERE sealed_with = k.key_id)
                RETURNING k.key_id
                """, logger: logger)
            var removed: [String] = []
            for try await id in rows.decode(String.self) { removed.append(id) }
            return removed.sorted()
        } catch {
            throw StoreError.wrapping(error, operation: "remove unused data encryption key ids")
        }
    }
}
