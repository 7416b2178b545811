import Foundation
import PostgresNIO
import ReminderStore
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(6)))
struct MigratorTests {
    private func tables(_ client: PostgresClient) async throws -> Set<String> {
        var names = Set<String>()
        for try await name in try await client.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'", logger: TestDatabase.logger
        ).decode(String.self) {
            names.insert(name)
        }
        return names
    }

    @Test func aFreshDatabaseGetsEveryTableAndASecondRunAppliesNothing() async throws {
        try await TestDatabase.withDatabase(migrated: false) { client, _ in
            let migrator = try Migrator(directory: TestDatabase.migrations)
            #expect(
                try await migrator.migrate(client, logger: TestDatabase.logger) == [
                    "0001_initial.sql", "0002_transitions_without_foreign_key.sql", "0003_delivery_attempts.sql",
                    "0004_dead_letters_once_per_message.sql", "0005_trace_context.sql", "0006_ownership_conflict.sql",
                    "0007_pending_changes.sql", "0008_shared_rate_limits.sql", "0009_recurrence_and_status_events.sql",
                    "0010_retention_and_erasure.sql", "0011_sealed_personal_data.sql",
                    "0012_status_outbox_keyed_by_sequence.sql", "0013_identifiers_compared_bytewise.sql",
                    "0014_creation_recorded_by_the_row.sql", "0015_status_relay_lease.sql",
                    "0016_dead_letter_relay_lease.sql", "0017_history_keyed_by_reminder.sql",
                    "0018_outbox_of_unpublished_records_only.sql",
                ])
            #expect(try await migrator.migrate(client, logger: TestDatabase.logger).isEmpty)
            let names = try await tables(client)
            for table in [
                "schema_migrations", "inbox", "reminders", "reminder_transitions", "dead_letters",
                "dead_letter_replays", "delivery_attempts", "pending_replacements", "rate_limits", "status_events",
                "erasures", "data_encryption_keys", "outbox_leases", "published_status_events",
            ] {
                #expect(names.contains(table), "\(table)")
            }
        }
    }

    @Test func identifiersAreComparedByteByByteAndTheirIndexesUseIt() async throws {
        try await TestDatabase.withDatabase { client, _ in
            // Each identifier column, and the collation its index compares with.
            let rows = try await client.query(
                """
                SELECT a.attrelid::regclass::text || '.' || a.attname, c.collname,
                    (SELECT ic.collname FROM pg_index i
                        JOIN pg_collation ic ON ic.oid = i.indcollation[0]
                        WHERE i.indrelid = a.attrelid AND i.indkey[0] = a.attnum)
                FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
                WHERE (a.attrelid, a.attname) IN (
                    ('inbox'::regclass, 'idempotency_key'), ('reminders'::regclass, 'reminder_id'),
                    ('reminders'::regclass, 'user_id'), ('dead_letters'::regclass, 'user_id'))
                """, logger: TestDatabase.logger)
            var collations: [String: [String?]] = [:]
            for try await (column, collation, indexCollation) in rows.decode((String, String, String?).self) {
                collations[column] = [collation, indexCollation]
            }
            #expect(
                collations == [
                    "inbox.idempotency_key": ["C", "C"], "reminders.reminder_id": ["C", "C"],
                    "reminders.user_id": ["C", "C"], "dead_letters.user_id": ["C", "C"],
                ])
        }
    }

    /// Each delivery writes two transitions and an attempt: one index entry each, in the key
    /// every read of them uses (a reminder's rows in order), and none in a key on `id` alone.
    @Test func aRemindersTransitionsAndAttemptsAreKeyedByTheReminderAndNothingElse() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let rows = try await client.query(
                """
                SELECT c.relname, i.indisprimary, pg_get_indexdef(i.indexrelid)
                FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                WHERE c.relname IN ('reminder_transitions', 'delivery_attempts') ORDER BY c.relname
                """, logger: TestDatabase.logger)
            var indexes: [String] = []
            for try await (table, primary, definition) in rows.decode((String, Bool, String).self) {
                #expect(primary, "\(definition)")
                #expect(definition.hasSuffix("USING btree (reminder_id, id)"), "\(definition)")
                indexes.append(table)
            }
            #expect(indexes == ["delivery_attempts", "reminder_transitions"])
        }
    }

    /// Runs `body` on a database migrated up to `version`, not including it; the closure it
    /// gets applies `version` and every later migration and returns the files it applied.
    private func upgrading(
        to version: String, _ body: (PostgresClient, () async throws -> [String]) async throws -> Void
    ) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try FileManager.default.contentsOfDirectory(atPath: TestDatabase.migrations.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        func copy(_ names: [String]) throws {
            for name in names {
                try FileManager.default.copyItem(
                    at: TestDatabase.migrations.appendingPathComponent(name), to: folder.appendingPathComponent(name))
            }
        }
        try await TestDatabase.withDatabase(migrated: false) { client, _ in
            try copy(files.filter { $0 < version })
            _ = try await Migrator(directory: folder).migrate(client, logger: TestDatabase.logger)
            try await body(client) {
                try copy(files.filter { $0 >= version })
                return try await Migrator(directory: folder).migrate(client, logger: TestDatabase.logger)
            }
        }
    }

    /// A reminder stored before 0014 kept its creation as a transition row; after the
    /// migration its history still shows it once, and a reminder stored after shows its
    /// creation from its row.
    @Test func aRemindersCreationIsInItsHistoryOnceWhicheverSideOf0014ItWasStored() async throws {
        try await upgrading(to: "0014") { client, upgrade in
            // As ingest stored a new reminder before 0014: the row and its creation.
            try await client.query(
                """
                WITH r AS (
                    INSERT INTO reminders (reminder_id, user_id, state, time_zone, channels, content,
                        idempotency_key, source_topic, source_partition, source_offset, source_value)
                    VALUES ('before', 'u', 'SCHEDULED', 'UTC', '[]', '{}', 'k', 't', 0, 0, '\\x00')
                    RETURNING id)
                INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event)
                SELECT id, 'PENDING', 'SCHEDULED', 'schedule' FROM r
                """, logger: TestDatabase.logger)
            #expect(try await upgrade().first == "0014_creation_recorded_by_the_row.sql")
            // As ingest stores one now.
            try await client.query(
                """
                INSERT INTO reminders (reminder_id, user_id, state, time_zone, channels, content,
                    idempotency_key, source_topic, source_partition, source_offset, source_value, creation_in_row)
                VALUES ('after', 'u', 'SCHEDULED', 'UTC', '[]', '{}', 'k2', 't', 0, 1, '\\x00', true)
                """, logger: TestDatabase.logger)
            let rows = try await client.query(
                """
                SELECT r.reminder_id, h.from_state || '>' || h.to_state || ' ' || h.event
                FROM reminder_history h JOIN reminders r ON r.id = h.reminder_id ORDER BY r.reminder_id, h.id
                """, logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String).self) }
            #expect(
                rows.map { "\($0.0): \($0.1)" } == [
                    "after: PENDING>SCHEDULED schedule", "before: PENDING>SCHEDULED schedule",
                ])
        }
    }

    /// Every status record wrote an entry into each index of the outbox; its key on `seq`
    /// is the one it keeps (the relay's reads and marks go through it).
    @Test func theStatusOutboxHasOneIndexItsKeyOnTheSequence() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let rows = try await client.query(
                """
                SELECT i.indisprimary, pg_get_indexdef(i.indexrelid)
                FROM pg_index i WHERE i.indrelid = 'status_events'::regclass
                """, logger: TestDatabase.logger
            ).collect().map { try $0.decode((Bool, String).self) }
            #expect(rows.count == 1)
            #expect(rows.first?.0 == true)
            #expect(rows.first?.1.hasSuffix("USING btree (seq)") == true, "\(rows)")
        }
    }

    /// Records kept published before 0018 move to `published_status_events` whole, for
    /// retention; unpublished ones stay in the outbox for the relay.
    @Test func statusRecordsKeptBefore0018MoveToTheirOwnTable() async throws {
        try await upgrading(to: "0018") { client, upgrade in
            try await client.query(
                """
                INSERT INTO status_events (reminder, reminder_id, user_id, correlation_id, type, occurrence, attempt,
                    channel, provider, will_retry, due_at, reason, error, detail, at, published_at)
                VALUES
                    (1, 'kept', 'u', 'c', 'delivered', 4, 2, 'email', 'smtp', NULL, NULL, NULL, NULL, NULL,
                        '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z'),
                    (2, 'waiting', 'u', NULL, 'scheduled', NULL, 0, NULL, NULL, NULL, '2026-02-01T09:00:00Z',
                        NULL, NULL, NULL, '2026-01-01T00:00:02Z', NULL)
                """, logger: TestDatabase.logger)
            let before = try await client.query(
                "SELECT reminder_id, to_jsonb(e)::text FROM status_events e ORDER BY seq", logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String).self) }
            #expect(try await upgrade().first == "0018_outbox_of_unpublished_records_only.sql")
            let outbox = try await client.query(
                "SELECT reminder_id, to_jsonb(e)::text FROM status_events e", logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String).self) }
            let kept = try await client.query(
                "SELECT reminder_id, to_jsonb(e)::text FROM published_status_events e", logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String).self) }
            #expect(outbox.map(\.0) == ["waiting"] && outbox.map(\.1) == [before[1].1])
            #expect(kept.map(\.0) == ["kept"] && kept.map(\.1) == [before[0].1])
        }
    }

    @Test func instancesStartingTogetherApplyEachMigrationOnce() async throws {
        try await TestDatabase.withDatabase(migrated: false) { _, configuration in
            let migrator = try Migrator(directory: TestDatabase.migrations)
            let applied = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await TestDatabase.withClient(configuration) { client in
                            try await migrator.migrate(client, logger: TestDatabase.logger)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(
                applied == [
                    "0001_initial.sql", "0002_transitions_without_foreign_key.sql", "0003_delivery_attempts.sql",
                    "0004_dead_letters_once_per_message.sql", "0005_trace_context.sql", "0006_ownership_conflict.sql",
                    "0007_pending_changes.sql", "0008_shared_rate_limits.sql", "0009_recurrence_and_status_events.sql",
                    "0010_retention_and_erasure.sql", "0011_sealed_personal_data.sql",
                    "0012_status_outbox_keyed_by_sequence.sql", "0013_identifiers_compared_bytewise.sql",
                    "0014_creation_recorded_by_the_row.sql", "0015_status_relay_lease.sql",
                    "0016_dead_letter_relay_lease.sql", "0017_history_keyed_by_reminder.sql",
                    "0018_outbox_of_unpublished_records_only.sql",
                ])
        }
    }

    @Test func aFailedMigrationLeavesTheDatabaseAsItWasAndNamesTheFile() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "CREATE TABLE first (id int);".write(
            to: folder.appendingPathComponent("0001_first.sql"), atomically: true, encoding: .utf8)
        try "CREATE TABLE second (id int);\nSELECT no_such_column FROM first;"
            .write(to: folder.appendingPathComponent("0002_broken.sql"), atomically: true, encoding: .utf8)

        try await TestDatabase.withDatabase(migrated: false) { client, _ in
            let error = await #expect(throws: StoreError.self) {
                try await Migrator(directory: folder).migrate(client, logger: TestDatabase.logger)
            }
            #expect(error?.code == .migration)
            #expect(error?.description.contains("0002_broken.sql") == true)
            #expect(error?.description.contains("no_such_column") == true)
            #expect(error?.sqlState == "42703")
            let names = try await tables(client)
            #expect(names.contains("first"))
            #expect(!names.contains("second"), "the failed migration's first statement was rolled back")
        }
    }

    @Test func aMigrationChangedAfterItWasAppliedStopsStartUp() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("0001_first.sql")
        try "CREATE TABLE first (id int);".write(to: file, atomically: true, encoding: .utf8)
        try await TestDatabase.withDatabase(migrated: false) { client, _ in
            try await Migrator(directory: folder).migrate(client, logger: TestDatabase.logger)
            try "CREATE TABLE first (id bigint);".write(to: file, atomically: true, encoding: .utf8)
            let error = await #expect(throws: StoreError.self) {
                try await Migrator(directory: folder).migrate(client, logger: TestDatabase.logger)
            }
            #expect(error?.description.contains("changed after it was applied") == true)
        }
    }

    @Test func aMigrationsFolderWithoutSQLIsRefused() throws {
        let error = #expect(throws: StoreError.self) {
            try Migrator(directory: URL(fileURLWithPath: "/nonexistent-\(UUID())"))
        }
        #expect(error?.description.contains("cannot be read") == true)
    }

    @Test func databaseURLsAreParsedAndBadOnesNamed() throws {
        let configuration = try DatabaseConfiguration(url: "postgres://u%40x:p%2Fw@db.local:6543/app?sslmode=require")
        #expect(configuration.username == "u@x")
        #expect(configuration.password == "p/w")
        #expect(configuration.port == 6543)
        #expect(configuration.tls == .require)
        #expect(!configuration.description.contains("p/w"))
        for bad in ["mysql://u@h/db", "postgres://h/db", "postgres://u@h/", "postgres://u@h/db?sslmode=maybe"] {
            let error = #expect(throws: StoreError.self) { try DatabaseConfiguration(url: bad) }
            #expect(error?.code == .configuration, "\(bad)")
        }
    }
}
