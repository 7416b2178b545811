import Foundation
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// Retention against PostgreSQL: what is past its window goes (or, keeping history, loses
/// its personal data), what is live or recent stays. Time moves by ageing rows in the
/// database.
@Suite(.timeLimit(.minutes(6)))
struct RetentionStoreTests {
    private let channels: [[String: Any]] = [["type": "email", "to": "ada@example.com"]]

    private func policy(keepHistory: Bool = false, batchSize: Int = 2) -> RetentionStore.Policy {
        RetentionStore.Policy(
            reminders: .seconds(86_400), deadLetters: .seconds(86_400), inbox: .seconds(86_400),
            statusEvents: .seconds(86_400), keepHistory: keepHistory, batchSize: batchSize,
            statementTimeout: .seconds(5))
    }

    private func store(_ client: PostgresClient) -> RetentionStore {
        RetentionStore(client: client, logger: TestDatabase.logger)
    }

    /// Stores `count` reminders `r-0…`, claims the first ones and records `results` for
    /// them in order; the rest wait, due tomorrow.
    private func completed(
        _ client: PostgresClient, count: Int, _ results: [DispatchStore.Completion.Result]
    ) async throws -> [DispatchStore.Claimed] {
        try await DueReminders.store(client, count: count, prefix: "r", channels: channels)
        let first = (0..<results.count).map { "r-\($0)" }
        try await client.query(
            "UPDATE reminders SET due_at = now() + interval '1 day' WHERE reminder_id <> ALL(\(first))",
            logger: TestDatabase.logger)
        let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
        let claimed = try await dispatch.claim(limit: results.count, lease: .seconds(60)).sorted { $0.id < $1.id }
        _ = try await dispatch.complete(
            zip(claimed, results).map { claimed, result in
                DispatchStore.Completion(
                    id: claimed.id, attempt: claimed.attempt, result: result,
                    progress: ChannelProgress(channelCount: 1), errorClass: nil,
                    channelAttempts: [
                        ChannelAttempt(
                            channelIndex: 0, channel: "email", provider: "smtp",
                            outcome: result == .delivered ? .delivered : .permanent,
                            errorClass: result == .delivered ? nil : "smtp_550", answer: "250 2.0.0 queued as X1",
                            latency: .milliseconds(3))
                    ])
            })
        return claimed
    }

    /// Publishes the status outbox as its relay does when published records are kept, then
    /// moves every timestamp retention looks at `days` into the past.
    private func age(_ client: PostgresClient, days: Int) async throws {
        let statusRecords = try await client.query("SELECT seq FROM status_events", logger: TestDatabase.logger)
            .collect().map { try $0.decode(Int64.self) }
        try await StatusEventStore(client: client, logger: TestDatabase.logger, keepPublished: true)
            .markPublished(statusRecords)
        for sql in [
            "UPDATE reminders SET updated_at = updated_at - make_interval(days => \(days))",
            "UPDATE inbox SET received_at = received_at - make_interval(days => \(days))",
            "UPDATE dead_letters SET failed_at = failed_at - make_interval(days => \(days))",
            "UPDATE published_status_events SET at = at - make_interval(days => \(days))",
        ] {
            try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
        }
    }

    private func count(_ client: PostgresClient, _ sql: String) async throws -> Int {
        try await TestDatabase.count(client, sql)
    }

    @Test func finishedRemindersPastTheirWindowGoWithTheirHistoryAndWaitingOnesStay() async throws {
        try await TestDatabase.withDatabase { client, _ in
            _ = try await completed(client, count: 5, [.delivered, .delivered, .delivered])
            try await age(client, days: 2)
            // One finished a moment ago: inside its window.
            try await client.query(
                "UPDATE reminders SET updated_at = now() WHERE reminder_id = 'r-2'", logger: TestDatabase.logger)

            let pruned = try #require(try await store(client).prune(policy()))

            #expect(pruned[.reminders] == 2)
            #expect(pruned[.deliveryAttempts] == 2)
            // Each one's claim and delivery (its creation is in its row).
            #expect(pruned[.reminderTransitions, default: 0] >= 4)
            #expect(pruned[.inbox] == 5)
            #expect(pruned[.statusEvents, default: 0] >= 5)
            var left: [String] = []
            for try await id in try await client.query(
                "SELECT reminder_id FROM reminders ORDER BY reminder_id", logger: TestDatabase.logger
            ).decode(String.self) { left.append(id) }
            #expect(left == ["r-2", "r-3", "r-4"])
            #expect(
                try await count(
                    client,
                    "SELECT count(*)::int8 FROM reminder_transitions t "
                        + "WHERE NOT EXISTS (SELECT 1 FROM reminders r WHERE r.id = t.reminder_id)") == 0)
            #expect(try await count(client, "SELECT count(*)::int8 FROM delivery_attempts") == 1)
            #expect(try await count(client, "SELECT count(*)::int8 FROM inbox") == 0)
            // A second round finds nothing more.
            let again = try #require(try await store(client).prune(policy()))
            #expect(again.values.reduce(0, +) == 0)
        }
    }

    @Test func aDeadLetteredReminderStaysWhileItsDeadLetterDoesAndAnUnpublishedOneStays() async throws {
        try await TestDatabase.withDatabase { client, _ in
            _ = try await completed(client, count: 1, [.deadLetter(.permanentFailure, error: "smtp_550")])
            try await age(client, days: 2)
            try await client.query("UPDATE dead_letters SET published_at = NULL", logger: TestDatabase.logger)

            let waiting = try #require(try await store(client).prune(policy()))
            #expect(waiting[.deadLetters] == 0)
            #expect(waiting[.reminders] == 0)
            #expect(try await count(client, "SELECT count(*)::int8 FROM reminders WHERE state = 'DEAD_LETTER'") == 1)

            try await client.query("UPDATE dead_letters SET published_at = now()", logger: TestDatabase.logger)
            let published = try #require(try await store(client).prune(policy()))
            #expect(published[.deadLetters] == 1)
            #expect(published[.reminders] == 1)
            #expect(try await count(client, "SELECT count(*)::int8 FROM reminders") == 0)
        }
    }

    @Test func keepingHistoryRemovesContentAddressesAndMessageBytesButKeepsTheRows() async throws {
        try await TestDatabase.withDatabase { client, _ in
            _ = try await completed(client, count: 2, [.delivered, .deadLetter(.permanentFailure, error: "smtp_550")])
            try await age(client, days: 2)
            try await client.query("UPDATE dead_letters SET published_at = now()", logger: TestDatabase.logger)

            let pruned = try #require(try await store(client).prune(policy(keepHistory: true)))

            #expect(pruned[.reminders] == 2)
            #expect(pruned[.deadLetters] == 1)
            let rows = try await client.query(
                """
                SELECT content::text, channels::text, octet_length(source_value), source_key IS NULL,
                    erased_at IS NOT NULL
                FROM reminders ORDER BY id
                """, logger: TestDatabase.logger)
            var seen = 0
            for try await (content, channels, valueBytes, keyGone, erased) in rows.decode(
                (String, String, Int32, Bool, Bool).self)
            {
                seen += 1
                #expect(content == "{}")
                #expect(channels == #"[{"type": "email"}]"#)
                #expect(valueBytes == 0)
                #expect(keyGone && erased)
            }
            #expect(seen == 2)
            #expect(try await count(client, "SELECT count(*)::int8 FROM delivery_attempts WHERE answer = ''") == 2)
            #expect(try await count(client, "SELECT count(*)::int8 FROM reminder_history") >= 6)
            #expect(
                try await count(
                    client,
                    "SELECT count(*)::int8 FROM dead_letters WHERE message_value IS NULL AND message_key IS NULL")
                    == 1)
            let again = try #require(try await store(client).prune(policy(keepHistory: true)))
            #expect(again[.reminders] == 0)
            #expect(again[.deadLetters] == 0)
        }
    }

    @Test func oneInstancePrunesAtATime() async throws {
        try await TestDatabase.withDatabase { client, configuration in
            try await TestDatabase.withClient(configuration) { other in
                try await other.withConnection { connection in
                    try await connection.query(
                        "SELECT pg_advisory_lock(\(Int64(0x6E73_7265_7465_6E74)))", logger: TestDatabase.logger)
                    #expect(try await store(client).prune(policy()) == nil)
                    try await connection.query(
                        "SELECT pg_advisory_unlock(\(Int64(0x6E73_7265_7465_6E74)))", logger: TestDatabase.logger)
                }
            }
            #expect(try await store(client).prune(policy()) != nil)
        }
    }

    @Test func theOldestRowKeptIsReportedPerTable() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let empty = try await store(client).oldestAges()
            #expect(empty[.inbox] == .some(nil))
            _ = try await completed(client, count: 2, [.delivered])
            try await age(client, days: 3)
            let ages = try await store(client).oldestAges()
            for table in [RetentionStore.Table.reminders, .inbox, .statusEvents] {
                let age = try #require(ages[table] ?? nil, "\(table)")
                #expect(age > .seconds(3 * 86_400 - 60) && age < .seconds(3 * 86_400 + 60), "\(table)")
            }
            #expect(ages[.deadLetters] == .some(nil))
        }
    }
}
