import Foundation
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// Erasure of one user's data against PostgreSQL: what is still to be sent is cancelled,
/// a send under way is awaited, then content, addresses, message bytes, status lines and
/// dead letters' payloads go; inbox keys and other users' data stay.
@Suite(.timeLimit(.minutes(6)))
struct ErasureStoreTests {
    private static let address = "grace.hopper@example.com"
    private static let title = "Renew the passport"

    private func event(_ reminder: String, user: String, key: String, dueAt: Date = Date()) -> [UInt8] {
        EventFixtures.json([
            "schema_version": 1, "type": "schedule", "idempotency_key": key, "reminder_id": reminder,
            "user_id": user, "deliver_at": RFC3339Text.format(dueAt),
            "channels": [["type": "email", "to": Self.address], ["type": "sms", "to": "+15555550123"]],
            "content": ["title": Self.title, "body": "at the town hall"],
        ])
    }

    /// Stores the messages at offsets from `offset` on; returns what ingest said.
    @discardableResult
    private func ingest(_ client: PostgresClient, _ messages: [[UInt8]], offset: Int) async throws -> IngestSummary {
        let records = messages.enumerated().map { index, bytes in
            IngestRecord(
                topic: "reminders", partition: 0, offset: Int64(offset + index), key: Array("k".utf8), value: bytes,
                headers: [],
                decoded: (try? ReminderEventDecoder.decode(bytes)).map { .valid($0) }
                    ?? .invalid(EventValidationError(field: "$", message: "test")))
        }
        return try await IngestStore(client: client, logger: TestDatabase.logger).ingest(records)
    }

    private func store(_ client: PostgresClient) -> ErasureStore {
        ErasureStore(client: client, logger: TestDatabase.logger)
    }

    private func dispatch(_ client: PostgresClient) -> DispatchStore {
        DispatchStore(client: client, logger: TestDatabase.logger)
    }

    private func complete(
        _ client: PostgresClient, _ claimed: DispatchStore.Claimed, _ result: DispatchStore.Completion.Result
    )
        async throws
    {
        _ = try await dispatch(client).complete([
            DispatchStore.Completion(
                id: claimed.id, attempt: claimed.attempt, result: result, progress: ChannelProgress(channelCount: 2),
                errorClass: nil,
                channelAttempts: [
                    ChannelAttempt(
                        channelIndex: 0, channel: "email", provider: "smtp",
                        outcome: result == .delivered ? .delivered : .permanent, errorClass: nil,
                        answer: "250 ok: queued for \(Self.address)", latency: .milliseconds(2))
                ])
        ])
    }

    private func state(_ client: PostgresClient, _ reminder: String) async throws -> String {
        try await client.query(
            "SELECT state FROM reminders WHERE reminder_id = \(reminder)", logger: TestDatabase.logger
        )
        .collect().first!.decode(String.self)
    }

    /// Whether any column of the user's rows still holds the address or the title.
    private func personalDataLeft(_ client: PostgresClient) async throws -> Int {
        try await TestDatabase.count(
            client,
            """
            SELECT (SELECT count(*) FROM reminders WHERE user_id = 'user-e' AND (
                        channels::text LIKE '%\(Self.address)%' OR content::text LIKE '%\(Self.title)%'
                        OR position('\(Self.address)'::bytea IN source_value) > 0))
                + (SELECT count(*) FROM delivery_attempts WHERE answer LIKE '%\(Self.address)%')
                + (SELECT count(*) FROM dead_letters WHERE position('\(Self.address)'::bytea IN coalesce(message_value, '')) > 0)
            """)
    }

    @Test func erasingAUserCancelsWhatIsStillToBeSentAndRemovesTheirDataOnly() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ingest(
                client,
                [
                    event("e-sent", user: "user-e", key: "k1"), event("e-failed", user: "user-e", key: "k2"),
                    event("e-later", user: "user-e", key: "k3", dueAt: Date().addingTimeInterval(3_600)),
                    event("o-later", user: "user-o", key: "k4", dueAt: Date().addingTimeInterval(3_600)),
                    Array(#"{"user_id":"user-e","type":"schedule"}"#.utf8),
                ], offset: 0)
            let claimed = try await dispatch(client).claim(limit: 10, lease: .seconds(60))
            for item in claimed {
                try await complete(
                    client, item,
                    item.reminderID == "e-sent" ? .delivered : .deadLetter(.permanentFailure, error: "smtp_550"))
            }
            #expect(try await personalDataLeft(client) > 0)

            let stopped = try await store(client).stopSending(userID: "user-e")
            #expect(stopped == ErasureStore.Stopped(cancelled: 1, awaited: 0))
            #expect(try await state(client, "e-later") == "CANCELLED")
            #expect(try await store(client).inFlight(userID: "user-e") == 0)
            let record = try await store(client).erase(userID: "user-e", cancelled: stopped.cancelled)

            #expect(record.remindersCancelled == 1)
            #expect(record.remindersErased == 3)
            #expect(record.attemptsErased == 2)
            #expect(record.deadLettersErased == 2)  // the failed send's and the invalid event's
            #expect(try await personalDataLeft(client) == 0)
            #expect(
                try await TestDatabase.count(
                    client, "SELECT count(*)::int8 FROM reminders WHERE user_id = 'user-e' AND erased_at IS NOT NULL")
                    == 3)
            // The other user's reminder is untouched and still waits.
            #expect(try await state(client, "o-later") == "SCHEDULED")
            #expect(
                try await TestDatabase.count(
                    client,
                    "SELECT count(*)::int8 FROM reminders WHERE user_id = 'user-o' AND content->>'title' IS NOT NULL")
                    == 1)
            // The record names no user, only the id's hash.
            #expect(
                try await TestDatabase.count(
                    client,
                    """
                    SELECT count(*)::int8 FROM erasures
                    WHERE user_id_sha256 = sha256('user-e'::bytea) AND position('user-e'::bytea IN user_id_sha256) = 0
                    """) == 1)
            // The history says why it was cancelled, and a status event tells the publisher.
            #expect(
                try await TestDatabase.count(
                    client,
                    "SELECT count(*)::int8 FROM status_events WHERE reminder_id = 'e-later' AND type = 'cancelled'")
                    == 1)

            // Again: nothing more to remove.
            let again = try await store(client).erase(userID: "user-e", cancelled: 0)
            #expect(again.remindersErased == 0 && again.attemptsErased == 0 && again.deadLettersErased == 0)
        }
    }

    @Test func aSendUnderWayIsAwaitedAndTheCancelAppliesWhenItFails() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ingest(client, [event("e-1", user: "user-e", key: "k1")], offset: 0)
            let claimed = try #require(try await dispatch(client).claim(limit: 1, lease: .seconds(60)).first)

            let stopped = try await store(client).stopSending(userID: "user-e")
            #expect(stopped == ErasureStore.Stopped(cancelled: 0, awaited: 1))
            #expect(try await store(client).inFlight(userID: "user-e") == 1)
            // Nothing finished yet: nothing is erased while the send may still read it.
            #expect(try await store(client).erase(userID: "user-e", cancelled: 0).remindersErased == 0)

            try await complete(client, claimed, .retry(after: .seconds(1)))
            #expect(try await state(client, "e-1") == "CANCELLED")
            #expect(try await store(client).inFlight(userID: "user-e") == 0)
            #expect(try await store(client).erase(userID: "user-e", cancelled: 0).remindersErased == 1)
            #expect(try await personalDataLeft(client) == 0)
        }
    }

    @Test func anOldEventDeliveredAgainIsStillADuplicateAndANewOneWorks() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let old = event("e-1", user: "user-e", key: "k1", dueAt: Date().addingTimeInterval(3_600))
            try await ingest(client, [old], offset: 0)
            let stopped = try await store(client).stopSending(userID: "user-e")
            _ = try await store(client).erase(userID: "user-e", cancelled: stopped.cancelled)

            let redelivered = try await ingest(client, [old], offset: 0)
            #expect(redelivered.duplicates == 1)
            #expect(redelivered.created == 0)
            #expect(try await state(client, "e-1") == "CANCELLED")

            let fresh = try await ingest(client, [event("e-2", user: "user-e", key: "k2")], offset: 1)
            #expect(fresh.created == 1)
            #expect(
                try await TestDatabase.count(
                    client,
                    "SELECT count(*)::int8 FROM reminders WHERE reminder_id = 'e-2' AND content->>'title' = '\(Self.title)'"
                ) == 1)
            #expect(try await state(client, "e-2") == "SCHEDULED")
        }
    }
}
