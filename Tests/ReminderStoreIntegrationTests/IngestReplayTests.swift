import Foundation
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// Replays as ingest stores them: a dead-lettered reminder is reset once per dead
/// letter; anything else a replay names is itself dead-lettered as invalid.
@Suite(.timeLimit(.minutes(6)))
struct IngestReplayTests {
    private static let event = """
        {"schema_version":1,"type":"schedule","idempotency_key":"key-1","reminder_id":"r-1","user_id":"user-1",\
        "deliver_at":"2026-01-01T09:00:00Z","expires_at":"2026-01-02T09:00:00Z",\
        "channels":[{"type":"email","to":"a@b.co"}],"content":{"title":"T","body":"B"}}
        """

    private static let cancel = """
        {"schema_version":1,"type":"cancel","idempotency_key":"key-2","reminder_id":"r-1","user_id":"user-1"}
        """

    private static func record(
        offset: Int64, replayOf id: UUID? = nil, json: String = event, trace: TraceContextHeaders? = nil
    ) throws -> IngestRecord {
        let bytes = Array(json.utf8)
        return IngestRecord(
            topic: "reminders", partition: 0, offset: offset, key: Array("user-1".utf8), value: bytes,
            headers: id.map { [.init(key: IngestRecord.replayHeader, value: Array($0.uuidString.utf8))] } ?? [],
            decoded: try id.map { .replay(of: $0) } ?? .valid(ReminderEventDecoder.decode(bytes)), trace: trace)
    }

    private static let eventTrace = TraceContextHeaders(
        traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", traceState: "vendor=1")
    private static let replayTrace = TraceContextHeaders(
        traceParent: "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01")

    /// Stores the event and dead-letters its reminder as the dispatcher would; returns the
    /// dead letter's id.
    private static func deadLettered(_ client: PostgresClient, reason: DeadLetterReason) async throws -> UUID {
        let ingest = IngestStore(client: client, logger: TestDatabase.logger)
        _ = try await ingest.ingest([try record(offset: 0, trace: eventTrace)])
        // Due in the past: claimable now.
        try await client.query("UPDATE reminders SET due_at = now() - interval '1 minute'", logger: TestDatabase.logger)
        let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
        let claimed = try #require(try await dispatch.claim(limit: 1, lease: .seconds(60)).first)
        try await dispatch.complete([
            .init(
                id: claimed.id, attempt: claimed.attempt, result: .deadLetter(reason, error: "email: smtp_550"),
                progress: ChannelProgress(channelCount: 1), errorClass: "smtp_550", channelAttempts: [])
        ])
        return try await client.query("SELECT id FROM dead_letters", logger: TestDatabase.logger).collect().first!
            .decode(UUID.self)
    }

    private static func reminder(_ client: PostgresClient) async throws -> (String, Int, Bool, Bool) {
        try await client.query(
            """
            SELECT state, attempts, expires_at IS NULL, due_at <= now() FROM reminders WHERE reminder_id = 'r-1'
            """, logger: TestDatabase.logger
        ).collect().first!.decode((String, Int, Bool, Bool).self)
    }

    @Test func aReplayResetsTheReminderOnceHoweverOftenItComes() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let id = try await Self.deadLettered(client, reason: .expired)
            let ingest = IngestStore(client: client, logger: TestDatabase.logger)
            // Twice in one batch, then once more in the next.
            let first = try await ingest.ingest([
                try Self.record(offset: 1, replayOf: id), try Self.record(offset: 2, replayOf: id),
            ])
            #expect(first.replayed == 1)
            #expect(first.replaysIgnored == 1)
            let (state, attempts, expiryCleared, dueNow) = try await Self.reminder(client)
            #expect(state == "SCHEDULED")
            #expect(attempts == 0)
            #expect(expiryCleared, "an expiry that has passed no longer stops the replay")
            #expect(dueNow)
            let second = try await ingest.ingest([try Self.record(offset: 3, replayOf: id)])
            #expect(second.replayed == 0)
            #expect(second.replaysIgnored == 1)
            #expect(
                try await TestDatabase.count(client, "SELECT count(*) FROM reminder_history WHERE event = 'replay'")
                    == 1)
            #expect(try await TestDatabase.count(client, "SELECT count(*) FROM dead_letter_replays") == 1)
            #expect(
                try await TestDatabase.count(client, "SELECT count(*) FROM inbox") == 1, "a replay is not a new event")
        }
    }

    @Test func aCancelBehindAReplayInTheSameBatchFindsTheReminderResetAndCancelsIt() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let id = try await Self.deadLettered(client, reason: .deliveryExhausted)
            let summary = try await IngestStore(client: client, logger: TestDatabase.logger).ingest([
                try Self.record(offset: 1, replayOf: id), try Self.record(offset: 2, json: Self.cancel),
            ])
            #expect(summary.replayed == 1)
            #expect(summary.skipped.isEmpty)
            #expect(try await Self.reminder(client).0 == "CANCELLED")
        }
    }

    @Test func aReplayOfADeadLetterWithANewerOneChangesNothing() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let id = try await Self.deadLettered(client, reason: .deliveryExhausted)
            // A later dead letter of the same reminder (after an earlier replay, say).
            try await client.query(
                """
                INSERT INTO dead_letters (reason, error, original_topic, original_partition, original_offset, reminder_id)
                SELECT 'permanent_failure', 'later', 'reminders', 0, 0, id FROM reminders
                """, logger: TestDatabase.logger)
            let summary = try await IngestStore(client: client, logger: TestDatabase.logger)
                .ingest([try Self.record(offset: 1, replayOf: id)])
            #expect(summary.replayed == 0)
            #expect(summary.replaysIgnored == 1)
            #expect(try await Self.reminder(client).0 == "DEAD_LETTER")
        }
    }

    @Test func aReplayNamingNoReplayableDeadLetterIsDeadLetteredAsInvalid() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let ingest = IngestStore(client: client, logger: TestDatabase.logger)
            // An invalid event's dead letter, and an id no dead letter has.
            _ = try await ingest.ingest([
                IngestRecord(
                    topic: "reminders", partition: 0, offset: 0, key: nil, value: Array("{}".utf8), headers: [],
                    decoded: .invalid(EventValidationError(field: "type", message: "is required")))
            ])
            let invalid = try await client.query(
                "SELECT id FROM dead_letters", logger: TestDatabase.logger
            ).collect().first!.decode(UUID.self)
            let summary = try await ingest.ingest([
                try Self.record(offset: 1, replayOf: invalid), try Self.record(offset: 2, replayOf: UUID()),
            ])
            #expect(summary.invalid == 2)
            #expect(summary.replayed == 0)
            var errors: [String] = []
            let rows = try await client.query(
                "SELECT error FROM dead_letters WHERE original_offset > 0 ORDER BY original_offset",
                logger: TestDatabase.logger)
            for try await error in rows.decode(String.self) { errors.append(error) }
            #expect(errors.count == 2)
            #expect(errors.first?.contains("dead letters of reason invalid_event cannot be replayed") == true)
            #expect(errors.last?.contains("no dead letter has this id") == true)
        }
    }

    @Test func theTraceOfTheEventGoesWithItsReminderItsDeadLetterAndItsReplay() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let id = try await Self.deadLettered(client, reason: .deliveryExhausted)
            let letters = DeadLetterStore(client: client, logger: TestDatabase.logger)
            let letter = try #require(try await letters.unpublished(limit: 10).first)
            #expect(letter.trace == Self.eventTrace, "the dead letter continues the event's trace")
            #expect(try await letters.find(id)?.trace == Self.eventTrace)
            #expect(
                try await ReminderLookup(client: client, logger: TestDatabase.logger).find(reminderID: "r-1")?.traceID
                    == "0af7651916cd43dd8448eb211c80319c")

            let ingest = IngestStore(client: client, logger: TestDatabase.logger)
            _ = try await ingest.ingest([try Self.record(offset: 1, replayOf: id, trace: Self.replayTrace)])
            try await client.query(
                "UPDATE reminders SET due_at = now() - interval '1 minute'", logger: TestDatabase.logger)
            let claimed = try #require(
                try await DispatchStore(client: client, logger: TestDatabase.logger).claim(
                    limit: 1, lease: .seconds(60)
                )
                .first)
            #expect(claimed.trace == Self.replayTrace, "the delivery after a replay continues the replay's span")
        }
    }
}
