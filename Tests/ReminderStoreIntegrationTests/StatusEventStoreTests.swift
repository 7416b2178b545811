import Foundation
import PostgresNIO
import ReminderCore
import TestSupport
import Testing

@testable import ReminderStore

/// The status relay's reads of the outbox in PostgreSQL: a scan starts after the records
/// known to be published, yet a record whose transaction commits after higher ones were
/// published is still read.
@Suite(.timeLimit(.minutes(3)))
struct StatusEventStoreTests {
    /// Inserts a status record for `reminder` as a state change's statement does.
    static func insert(_ reminder: String, on connection: PostgresConnection) async throws {
        try await connection.query(
            "INSERT INTO status_events (reminder, reminder_id, user_id, type) VALUES (1, \(reminder), 'user-1', 'scheduled')",
            logger: TestDatabase.logger)
    }

    static func insert(_ reminder: String, _ client: PostgresClient) async throws {
        try await client.withConnection { try await insert(reminder, on: $0) }
    }

    /// Ingest's hand-off writes a scheduled record's due time itself
    /// (`Instant.sixDigitText`); it must be the text the relay's read gets from
    /// PostgreSQL for the same instant, or a record would read differently handed over
    /// than scanned.
    @Test func theServiceWritesATimeAsTheRelaysReadFormatsIt() async throws {
        // An interval times a number is computed in floating point: whole seconds and the
        // microseconds apart stay exact, where microseconds alone would be rounded.
        var generator = SeededRandom(seed: 19)
        var micros: [Int64] = [
            0, -1, 1, 999_999, 1_709_251_199_999_999, 951_782_400_000_000, 4_107_542_399_999_999,
            -62_135_596_800_000_000, -62_135_596_800_000_001, -62_167_219_200_000_000, 253_402_300_799_999_999,
            253_402_300_800_000_000,
        ]
        for _ in 0..<500 {
            micros.append(Int64.random(in: -2_208_988_800_000_000...4_102_444_800_000_000, using: &generator))
        }
        try await TestDatabase.withDatabase { client, _ in
            let rows = try await client.query(
                """
                SELECT m, \(unescaped: StatusEventStore.utc("(timestamptz 'epoch' + s * interval '1 second' + u * interval '1 microsecond')"))
                FROM unnest(\(micros)::int8[]) AS m, LATERAL (SELECT m / 1000000 AS s, m % 1000000 AS u) AS parts
                """,
                logger: TestDatabase.logger)
            var compared = 0
            for try await (value, text) in rows.decode((Int64, String).self) {
                #expect(Instant(microsecondsSinceEpoch: value).sixDigitText == text, "\(value)")
                compared += 1
            }
            #expect(compared == micros.count)
        }
    }

    /// A published record leaves the outbox, which holds only what is still to be
    /// published; when published records are kept (`RETENTION_STATUS_EVENTS_DAYS`) it is
    /// kept in `published_status_events` with every column it had and the time it was
    /// published. Marking it again finds nothing to do.
    @Test(arguments: [false, true])
    func aPublishedRecordLeavesTheOutboxAndIsKeptWholeWhenAsked(keep: Bool) async throws {
        try await TestDatabase.withDatabase { client, _ in
            let store = StatusEventStore(client: client, logger: TestDatabase.logger, keepPublished: keep)
            try await client.query(
                """
                INSERT INTO status_events (reminder, reminder_id, user_id, correlation_id, type, occurrence, attempt,
                    channel, provider, will_retry, due_at, reason, error, detail)
                VALUES (7, 'full', 'user-1', 'corr-1', 'attempt_failed', 2, 3, 'webhook', 'webhook', true,
                    '2026-01-02T03:04:05.678901Z', 'provider_error', 'http_503', 'answered 503')
                """, logger: TestDatabase.logger)
            try await Self.insert("other", client)
            let read = try await store.unpublished(limit: 10)
            #expect(read.map(\.reminderID) == ["full", "other"])
            // Every column of the outbox's row but the one it never sets.
            let columns = "to_jsonb(e) - 'published_at'"
            let before = try await client.query(
                "SELECT \(unescaped: columns)::text FROM status_events e WHERE reminder_id = 'full'",
                logger: TestDatabase.logger
            ).collect().map { try $0.decode(String.self) }
            #expect(before.count == 1)

            let start = try await client.query("SELECT now()::text", logger: TestDatabase.logger)
                .collect().first!.decode(String.self)
            try await store.markPublished([read[0].sequence])
            try await store.markPublished([read[0].sequence])

            #expect(try await store.unpublished(limit: 10).map(\.reminderID) == ["other"])
            #expect(try await TestDatabase.count(client, "SELECT count(*)::int8 FROM status_events") == 1)
            let kept = try await client.query(
                """
                SELECT \(unescaped: columns)::text, published_at >= \(start)::timestamptz AND published_at <= now()
                FROM published_status_events e
                """, logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, Bool).self) }
            if keep {
                #expect(kept.map(\.0) == before)
                #expect(kept.map(\.1) == [true], "published at the mark's time")
            } else {
                #expect(kept.isEmpty)
            }
        }
    }

    @Test func aRecordCommittedAfterHigherOnesWerePublishedIsStillRead() async throws {
        try await TestDatabase.withDatabase { client, configuration in
            let store = StatusEventStore(client: client, logger: TestDatabase.logger)
            let early = try await TestDatabase.withClient(configuration) { other in
                try await other.withConnection { connection -> Int64 in
                    // The state change's transaction writes first, then takes its
                    // sequence number; it stays open while a later one commits.
                    try await connection.query("BEGIN", logger: TestDatabase.logger)
                    try await connection.query("SELECT txid_current()", logger: TestDatabase.logger)
                    try await Self.insert("late", on: connection)
                    try await Self.insert("early", client)
                    let first = try await store.unpublished(limit: 10)
                    #expect(first.map(\.reminderID) == ["early"])
                    try await store.markPublished(first.map(\.sequence))
                    for _ in 0..<3 {
                        #expect(try await store.unpublished(limit: 10).isEmpty)
                    }
                    // The floor has not passed the open transaction's record.
                    #expect(store.scanStart < first[0].sequence)
                    try await connection.query("COMMIT", logger: TestDatabase.logger)
                    return first[0].sequence
                }
            }
            let late = try await store.unpublished(limit: 10)
            #expect(late.map(\.reminderID) == ["late"])
            try await store.markPublished(late.map(\.sequence))
            // Everything published: once no transaction from before is running (other
            // tests share the cluster, so a few scans), the scan starts after both.
            for _ in 0..<100 where store.scanStart != early {
                #expect(try await store.unpublished(limit: 10).isEmpty)
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(store.scanStart == early)
            #expect(late[0].sequence < early)
        }
    }
}
