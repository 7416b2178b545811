import Foundation
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// A cancel or replace consumed while its reminder is in flight, against PostgreSQL:
/// ingest stores it as pending, and the attempt's outcome (or its abandoned lease) decides.
@Suite(.timeLimit(.minutes(6)))
struct PendingChangeTests {
    private let channels: [[String: Any]] = [["type": "email", "to": "ada@example.com"]]

    /// Stores events for reminder `p-0` (user `user-0`) at offsets from `offset` on.
    private func ingest(_ client: PostgresClient, _ events: [[String: Any]], offset: Int) async throws {
        let records = events.enumerated().map { index, event -> IngestRecord in
            let bytes = EventFixtures.json(event)
            return IngestRecord(
                topic: "reminders", partition: 0, offset: Int64(offset + index), key: Array("user-0".utf8),
                value: bytes, headers: [], decoded: .valid(try! ReminderEventDecoder.decode(bytes)))
        }
        _ = try await IngestStore(client: client, logger: TestDatabase.logger).ingest(records)
    }

    private func cancel(_ key: String, user: String = "user-0") -> [String: Any] {
        ["schema_version": 1, "type": "cancel", "idempotency_key": key, "reminder_id": "p-0", "user_id": user]
    }

    private func replacement(_ key: String, title: String, dueAt: Date) -> [String: Any] {
        [
            "schema_version": 1, "type": "schedule", "idempotency_key": key, "reminder_id": "p-0",
            "user_id": "user-0", "deliver_at": RFC3339Text.format(dueAt),
            "channels": [["type": "webhook", "url": "https://example.com/hook"]],
            "content": [
                "title": title, "body": "new body", "html": "<p>\(title)</p>",
                "unsubscribe_url": "https://example.com/unsubscribe?r=\(key)",
            ],
        ]
    }

    /// A stored reminder `p-0`, claimed once: what is in flight.
    private func inFlight(_ client: PostgresClient, lease: Duration = .seconds(60)) async throws
        -> DispatchStore.Claimed
    {
        try await DueReminders.store(client, count: 1, prefix: "p", channels: channels)
        let claimed = try await DispatchStore(client: client, logger: TestDatabase.logger).claim(limit: 1, lease: lease)
        return try #require(claimed.first)
    }

    private func completion(_ claimed: DispatchStore.Claimed, _ result: DispatchStore.Completion.Result)
        -> DispatchStore.Completion
    {
        DispatchStore.Completion(
            id: claimed.id, attempt: claimed.attempt, result: result, progress: ChannelProgress(channelCount: 1),
            errorClass: nil, channelAttempts: [])
    }

    private func history(_ client: PostgresClient, _ id: Int64) async throws -> [String] {
        var lines: [String] = []
        let rows = try await client.query(
            """
            SELECT from_state || '>' || to_state || ':' || event || coalesce(':' || detail, '')
            FROM reminder_history WHERE reminder_id = \(id) AND from_state IS NOT NULL ORDER BY id
            """, logger: TestDatabase.logger)
        for try await line in rows.decode(String.self) { lines.append(line) }
        return lines
    }

    private func row(_ client: PostgresClient, _ id: Int64) async throws -> (
        state: String, pending: String?, attempts: Int, title: String, replacements: Int
    ) {
        let row = try await client.query(
            """
            SELECT state, pending_change, attempts, content->>'title',
                (SELECT count(*)::int FROM pending_replacements WHERE id = \(id))
            FROM reminders WHERE id = \(id)
            """, logger: TestDatabase.logger
        ).collect().first!.decode((String, String?, Int, String, Int).self)
        return (row.0, row.1, row.2, row.3, row.4)
    }

    @Test func aCancelInFlightWinsOverAFailedAttemptAndNothingIsClaimedAgain() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let claimed = try await inFlight(client)
            try await ingest(client, [cancel("c-1")], offset: 10)
            #expect(try await row(client, claimed.id).pending == "cancel")
            #expect(try await row(client, claimed.id).state == "SENDING")
            let report = try await ReminderLookup(client: client, logger: TestDatabase.logger).find(reminderID: "p-0")
            #expect(report?.pending == ReminderReport.Pending(change: "cancel", dueAt: nil, channels: nil))
            let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
            let recorded = try await dispatch.complete([completion(claimed, .retry(after: .zero))])
            #expect(recorded == DispatchStore.CompletionReport(changed: [claimed.id: .cancel]))
            #expect(try await row(client, claimed.id).state == "CANCELLED")
            #expect(try await row(client, claimed.id).pending == nil)
            #expect(
                try await history(client, claimed.id) == [
                    "PENDING>SCHEDULED:schedule", "SCHEDULED>SENDING:claim",
                    "SENDING>SENDING:cancel:\(IngestPlanner.deferredDetail)", "SENDING>FAILED:fail",
                    "FAILED>CANCELLED:cancel:\(CompletionPlanner.appliedDetail)",
                ])
            #expect(try await dispatch.claim(limit: 10, lease: .seconds(60)).isEmpty)
        }
    }

    @Test func anAcceptedAttemptIsDeliveredAndThePendingReplacementComesTooLate() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let claimed = try await inFlight(client)
            try await ingest(client, [replacement("s-2", title: "New", dueAt: Date())], offset: 10)
            #expect(try await row(client, claimed.id).replacements == 1)
            try await DispatchStore(client: client, logger: TestDatabase.logger).complete([
                completion(claimed, .delivered)
            ])
            let after = try await row(client, claimed.id)
            #expect(after.state == "DELIVERED" && after.pending == nil && after.replacements == 0)
            #expect(after.title == "Dentist")
            #expect(
                try await history(client, claimed.id).suffix(2) == [
                    "SENDING>DELIVERED:deliver", "DELIVERED>DELIVERED:replace:\(CompletionPlanner.tooLateDetail)",
                ])
        }
    }

    @Test func aReplacementInFlightBecomesTheReminderAfterAFailureAndIsSentWithItsNewContent() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let claimed = try await inFlight(client)
            let newDue = Date().addingTimeInterval(-1)
            try await ingest(client, [replacement("s-2", title: "Old again", dueAt: newDue)], offset: 10)
            try await ingest(client, [replacement("s-3", title: "Newest", dueAt: newDue)], offset: 11)
            let report = try await ReminderLookup(client: client, logger: TestDatabase.logger).find(reminderID: "p-0")
            #expect(report?.pending?.change == "replace")
            #expect(report?.pending?.channels == ["webhook"])
            let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
            try await dispatch.complete([
                completion(claimed, .deadLetter(.permanentFailure, error: "550 mailbox unavailable"))
            ])
            let after = try await row(client, claimed.id)
            #expect(after.state == "SCHEDULED" && after.pending == nil && after.replacements == 0)
            #expect(after.title == "Newest" && after.attempts == 0)
            #expect(try await TestDatabase.count(client, "SELECT count(*)::int8 FROM dead_letters") == 0)
            let again = try await dispatch.claim(limit: 10, lease: .seconds(60))
            #expect(again.count == 1)
            #expect(again.first?.content.contains("Newest") == true)
            // The replacement's HTML and unsubscribe URL went through pending_replacements.
            let content = try StoredDelivery.content(fromJSON: try #require(again.first).content)
            #expect(content.html == "<p>Newest</p>")
            #expect(content.unsubscribeURL == "https://example.com/unsubscribe?r=s-3")
            #expect(again.first?.channels.contains("webhook") == true)
            #expect(again.first?.attempt == 1)
        }
    }

    @Test func aChangeWaitingOnAnAbandonedLeaseAppliesWithoutAnotherSend() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let claimed = try await inFlight(client, lease: .milliseconds(200))
            try await ingest(client, [cancel("c-1")], offset: 10)
            try await Task.sleep(for: .milliseconds(300))
            let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
            #expect(try await dispatch.claim(limit: 10, lease: .seconds(60)).isEmpty)
            #expect(try await row(client, claimed.id).state == "CANCELLED")
            #expect(
                try await history(client, claimed.id).suffix(2) == [
                    "SENDING>FAILED:fail:\(CompletionPlanner.abandonedDetail)",
                    "FAILED>CANCELLED:cancel:\(CompletionPlanner.appliedDetail)",
                ])
            // The sender's late outcome finds the reminder cancelled: not recorded.
            #expect(try await dispatch.complete([completion(claimed, .delivered)]).notRecorded == [claimed.id])
        }
    }

    @Test func aCancelAfterAPendingCancelOrFromAnotherUserChangesNothing() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let claimed = try await inFlight(client)
            try await ingest(client, [cancel("c-1"), replacement("s-2", title: "x", dueAt: Date())], offset: 10)
            try await ingest(client, [cancel("c-3", user: "intruder")], offset: 12)
            let after = try await row(client, claimed.id)
            #expect(after.pending == "cancel" && after.replacements == 0)
            #expect(
                try await TestDatabase.count(
                    client, "SELECT count(*)::int8 FROM dead_letters WHERE reason = 'ownership_conflict'") == 1)
        }
    }
}
