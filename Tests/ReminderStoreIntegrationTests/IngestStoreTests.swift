import Foundation
import PostgresNIO
import ReminderCore
import TestSupport
import Testing

@testable import ReminderStore

@Suite(.timeLimit(.minutes(6)))
struct IngestStoreTests {

    private func record(_ json: String, partition: Int32 = 0, offset: Int64) -> IngestRecord {
        let bytes = Array(json.utf8)
        return IngestRecord(
            topic: "reminders", partition: partition, offset: offset, key: Array("user-1".utf8), value: bytes,
            headers: [.init(key: "x-trace", value: [1, 2])], decoded: .init(decoding: bytes))
    }

    private func schedule(key: String, reminder: String = "r-1", title: String = "Dentist", user: String = "user-1")
        -> String
    {
        """
        {"schema_version":1,"type":"schedule","idempotency_key":"\(key)","reminder_id":"\(reminder)","user_id":"\(user)",\
        "timezone":"Europe/Berlin","deliver_at_local":"2026-03-29T02:30","channels":[{"type":"email","to":"a@b.co"}],\
        "content":{"title":"\(title)","body":"b","data":{"n":1}}}
        """
    }

    private func cancel(key: String, reminder: String = "r-1", user: String = "user-1") -> String {
        #"{"schema_version":1,"type":"cancel","idempotency_key":"\#(key)","reminder_id":"\#(reminder)","user_id":"\#(user)"}"#
    }

    @Test func aCancelOrReplaceFromAnotherUserChangesNothingAndIsDeadLetteredAsOwnershipConflict() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let store = IngestStore(client: client, logger: TestDatabase.logger)
            _ = try await store.ingest([record(schedule(key: "k1"), offset: 0)])
            let summary = try await store.ingest([
                record(cancel(key: "k2", user: "user-2"), offset: 1),
                record(schedule(key: "k3", title: "Hijacked", user: "user-2"), offset: 2),
            ])
            #expect(summary.ownershipConflicts == 2)
            #expect(summary.accepted == 2)
            let row = try await client.query(
                "SELECT state, user_id, content->>'title' FROM reminders WHERE reminder_id = 'r-1'",
                logger: TestDatabase.logger
            ).collect().first!.decode((String, String, String).self)
            #expect(row.0 == "SCHEDULED" && row.1 == "user-1" && row.2 == "Dentist")
            #expect(try await TestDatabase.count(client, "SELECT count(*)::int8 FROM reminder_history") == 1)
            let letters = try await client.query(
                "SELECT reason, error, idempotency_key FROM dead_letters ORDER BY original_offset",
                logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String, String).self) }
            #expect(letters.map(\.0) == ["ownership_conflict", "ownership_conflict"])
            #expect(letters.map(\.2) == ["k2", "k3"])
            #expect(letters.allSatisfy { $0.1.hasPrefix("user_id") })
            // Redelivered, they are duplicates: dead-lettered once.
            let again = try await store.ingest([record(cancel(key: "k2", user: "user-2"), offset: 1)])
            #expect(again.duplicates == 1 && again.ownershipConflicts == 0)
            // The owner still can.
            _ = try await store.ingest([record(cancel(key: "k4"), offset: 3)])
            #expect(
                try await TestDatabase.count(client, "SELECT count(*)::int8 FROM reminders WHERE state = 'CANCELLED'")
                    == 1)
        }
    }

    @Test func aNewScheduleIsStoredScheduledAtItsDueTimeWithItsHistory() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let store = IngestStore(client: client, logger: TestDatabase.logger)
            let summary = try await store.ingest([record(schedule(key: "k1"), offset: 7)])
            #expect(summary.accepted == 1)
            #expect(summary.created == 1)
            let row = try await client.query(
                """
                SELECT state, to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'), content->>'title',
                       content->'data'->>'n', source_offset, channels->0->>'type'
                FROM reminders WHERE reminder_id = 'r-1'
                """, logger: TestDatabase.logger
            ).collect().first!.decode((String, String, String, String, Int64, String).self)
            #expect(row.0 == "SCHEDULED")
            // 02:30 on the spring-forward day does not exist in Berlin: 03:30 CEST.
            #expect(row.1 == "2026-03-29T01:30:00")
            #expect(row.2 == "Dentist")
            #expect(row.3 == "1")
            #expect(row.4 == 7)
            #expect(row.5 == "email")
            // Its history: the creation, which the row records (no transition row), as the
            // state machine defines it, at the row's creation.
            #expect(try await TestDatabase.count(client, "SELECT count(*)::int8 FROM reminder_transitions") == 0)
            let history = try await client.query(
                """
                SELECT h.from_state, h.to_state, h.event, h.attempt, h.detail IS NULL, h.at = r.created_at,
                    h.occurrence IS NULL
                FROM reminder_history h JOIN reminders r ON r.id = h.reminder_id
                """, logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String, String, Int32, Bool, Bool, Bool).self) }
            let creation = ReminderStateMachine.creation
            #expect(history.count == 1)
            #expect(history.first?.0 == creation.from.rawValue && history.first?.1 == creation.to.rawValue)
            #expect(history.first?.2 == creation.event.rawValue && history.first?.3 == 0)
            #expect(history.first.map { $0.4 && $0.5 && $0.6 } == true)
            #expect(try await TestDatabase.count(client, "SELECT count(*)::int8 FROM inbox") == 1)
        }
    }

    @Test func aRepeatedKeyWithTheSamePayloadIsStoredOnce() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let store = IngestStore(client: client, logger: TestDatabase.logger)
            let event = schedule(key: "same")
            let first = try await store.ingest([record(event, offset: 0), record(event, partition: 1, offset: 0)])
            let second = try await store.ingest([record(event, offset: 1)])
            #expect(first.accepted == 1)
            #expect(first.duplicates == 1)
            #expect(second.duplicates == 1)
            #expect(second.accepted == 0)
            #expect(try await TestDatabase.count(client, "SELECT count(*)::int8 FROM reminders") == 1)
            #expect(try await TestDatabase.count(client, "SELECT count(*)::int8 FROM inbox") == 1)
            #expect(try await TestDatabase.count(client, "SELECT count(*)::int8 FROM dead_letters") == 0)
        }
    }

    @Test func theInboxHashIsPostgreSQLsSHA256SoKeysStoredBeforeTellDuplicatesFromConflicts() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let store = IngestStore(client: client, logger: TestDatabase.logger)
            let event = schedule(key: "new")
            _ = try await store.ingest([record(event, offset: 0)])
            let hashedHere = try await client.query(
                "SELECT count(*)::int8 FROM inbox WHERE idempotency_key = 'new' AND payload_sha256 = sha256(\(ByteBuffer(string: event)))",
                logger: TestDatabase.logger
            ).collect().first?.decode(Int.self)
            #expect(hashedHere == 1, "the service's hash is the one PostgreSQL computes")
            // A key stored when PostgreSQL hashed the payload itself.
            let old = schedule(key: "old", reminder: "r-old")
            try await client.query(
                """
                INSERT INTO inbox (idempotency_key, payload_sha256, reminder_id, source_partition, source_offset)
                VALUES ('old', sha256(\(ByteBuffer(string: old))), 'r-old', 0, 1)
                """, logger: TestDatabase.logger)
            let again = try await store.ingest([
                record(old, offset: 2), record(event, offset: 3),
                record(schedule(key: "old", title: "Other"), offset: 4),
            ])
            #expect(again.duplicates == 2)
            #expect(again.conflicts == 1)
            #expect(again.accepted == 0)
        }
    }

    @Test func aRepeatedKeyWithAnotherPayloadIsDeadLetteredNotApplied() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let store = IngestStore(client: client, logger: TestDatabase.logger)
            _ = try await store.ingest([record(schedule(key: "k"), offset: 0)])
            let summary = try await store.ingest([
                record(schedule(key: "k", title: "Changed"), offset: 1),
                record(schedule(key: "k2", title: "In batch"), offset: 2),
                record(schedule(key: "k2", title: "Changed in batch"), offset: 3),
            ])
            #expect(summary.conflicts == 2)
            let titles = try await client.query("SELECT content->>'title' FROM reminders", logger: TestDatabase.logger)
                .collect().map { try $0.decode(String.self) }
            #expect(titles == ["In batch"])
            let letters = try await client.query(
                "SELECT reason, idempotency_key, original_offset FROM dead_letters ORDER BY original_offset",
                logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String, Int64).self) }
            #expect(letters.map(\.0) == ["idempotency_conflict", "idempotency_conflict"])
            #expect(letters.map(\.2) == [1, 3])
        }
    }

    @Test func invalidEventsBecomeDeadLettersOnceEvenWhenReadTwice() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let store = IngestStore(client: client, logger: TestDatabase.logger)
            let bad = record(#"{"schema_version":1,"type":"schedule","idempotency_key":"k"}"#, offset: 5)
            #expect(try await store.ingest([bad]).invalid == 1)
            #expect(try await store.ingest([bad]).invalid == 1)
            let letters = try await client.query(
                "SELECT reason, error, message_value, message_headers->0->>'value' FROM dead_letters",
                logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String, ByteBuffer, String).self) }
            #expect(letters.count == 1)
            #expect(letters.first?.0 == "invalid_event")
            #expect(letters.first?.1 == "reminder_id: is required")
            #expect(letters.first.map { Array($0.2.readableBytesView) } == bad.value)
            #expect(letters.first?.3 == Data([1, 2]).base64EncodedString())
        }
    }

    @Test func anotherInvalidMessageAtAnOffsetSeenBeforeIsDeadLetteredToo() async throws {
        // A topic deleted and created again starts its offsets over.
        try await TestDatabase.withDatabase { client, _ in
            let store = IngestStore(client: client, logger: TestDatabase.logger)
            let first = record(#"{"schema_version":1,"type":"schedule","idempotency_key":"k1"}"#, offset: 1)
            let second = record(#"{"schema_version":1,"type":"schedule","idempotency_key":"k2"}"#, offset: 1)
            let stored = [try await store.ingest([first]).invalid, try await store.ingest([second]).invalid]
            #expect(stored == [1, 1])
            #expect(try await TestDatabase.count(client, "SELECT count(*) FROM dead_letters") == 2)
        }
    }

    @Test func scheduleReplaceCancelAcrossBatchesEndsCancelledWithEveryTransition() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let store = IngestStore(client: client, logger: TestDatabase.logger)
            _ = try await store.ingest([record(schedule(key: "a"), offset: 0)])
            _ = try await store.ingest([
                record(schedule(key: "b", title: "Moved"), offset: 1), record(cancel(key: "c"), offset: 2),
            ])
            let late = try await store.ingest([record(cancel(key: "d"), offset: 3)])
            #expect(late.skipped.first?.reason == "the reminder is CANCELLED: cannot cancel")
            let state = try await client.query(
                "SELECT state, content->>'title' FROM reminders", logger: TestDatabase.logger
            )
            .collect().first!.decode((String, String).self)
            #expect(state.0 == "CANCELLED")
            #expect(state.1 == "Moved")
            let events = try await client.query(
                "SELECT event FROM reminder_history ORDER BY id", logger: TestDatabase.logger
            ).collect().map { try $0.decode(String.self) }
            #expect(events == ["schedule", "replace", "cancel"])
        }
    }

    @Test func scheduleReplaceCancelInOneBatchStoresANewReminderWithItsTransitionsInOrder() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let store = IngestStore(client: client, logger: TestDatabase.logger)
            let summary = try await store.ingest([
                record(schedule(key: "a"), offset: 0), record(schedule(key: "b", title: "Moved"), offset: 1),
                record(cancel(key: "c"), offset: 2),
            ])
            #expect(summary.created == 1)
            let rows = try await client.query(
                """
                SELECT t.from_state, t.to_state, t.event, r.state FROM reminder_history t
                JOIN reminders r ON r.id = t.reminder_id ORDER BY t.id
                """, logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String, String, String).self) }
            #expect(
                rows.map { "\($0.0)>\($0.1) \($0.2)" } == [
                    "PENDING>SCHEDULED schedule", "SCHEDULED>SCHEDULED replace", "SCHEDULED>CANCELLED cancel",
                ])
            #expect(rows.allSatisfy { $0.3 == "CANCELLED" })
        }
    }

    /// A batch whose new reminders take several statements (here one a reminder) stores
    /// what one statement stores: the same reminders, each with its own transitions and
    /// status events in order.
    /// New reminders' status records, handed over once their batch has committed, are the
    /// records the relay's read returns, field for field, whether the reminders went in one
    /// statement or a part at a time; a later change of a stored reminder is not handed
    /// over, nor anything while the hand-off is shut.
    @Test(arguments: [1, 1 << 20]) func newRemindersStatusRecordsAreHandedOverAsTheRelayReadsThem(
        statementBytes: Int
    ) async throws {
        try await TestDatabase.withDatabase { client, _ in
            let handOff = StatusHandOff(capacity: 100)
            handOff.setOpen(true)
            let store = IngestStore(
                client: client, logger: TestDatabase.logger, statusEvents: true, sealer: nil,
                statementBytes: statementBytes, statusHandOff: handOff)
            let outbox = StatusEventStore(client: client, logger: TestDatabase.logger)
            let correlated = schedule(key: "c", reminder: "r-3").replacingOccurrences(
                of: #""schema_version":1,"#, with: #""schema_version":1,"correlation_id":"corr-3","#)
            let recurring = schedule(key: "e", reminder: "r-5").replacingOccurrences(
                of: #""schema_version":1,"#, with: #""schema_version":1,"recurrence":{"freq":"daily","count":3},"#)
            _ = try await store.ingest([
                record(schedule(key: "a", reminder: "r-1"), offset: 0),
                record(schedule(key: "b", reminder: "r-2"), offset: 1),
                record(schedule(key: "b2", reminder: "r-2", title: "Moved"), offset: 2),
                record(correlated, offset: 3),
                record(schedule(key: "d", reminder: "r-4"), offset: 4),
                record(cancel(key: "d2", reminder: "r-4"), offset: 5),
                record(recurring, offset: 6),
            ])
            let handed = handOff.take(upTo: 100)
            let read = try await outbox.unpublished(limit: 100)
            #expect(handed.count == 7)
            #expect(handed == read)
            #expect(read.first { $0.reminderID == "r-3" }?.correlationID == "corr-3")
            #expect(read.first { $0.reminderID == "r-5" }?.occurrence == 1)
            #expect(read.filter { $0.reminderID == "r-4" }.map(\.type) == ["scheduled", "cancelled"])
            try await outbox.markPublished(read.map(\.sequence))

            // A stored reminder replaced, beside a new one: only the new one's are handed.
            _ = try await store.ingest([
                record(schedule(key: "f", reminder: "r-1", title: "Later"), offset: 7),
                record(schedule(key: "g", reminder: "r-6"), offset: 8),
            ])
            let later = try await outbox.unpublished(limit: 100)
            #expect(later.map(\.reminderID).sorted() == ["r-1", "r-6"])
            #expect(handOff.take(upTo: 100) == later.filter { $0.reminderID == "r-6" })
            try await outbox.markPublished(later.map(\.sequence))

            handOff.setOpen(false)
            _ = try await store.ingest([record(schedule(key: "h", reminder: "r-7"), offset: 9)])
            #expect(handOff.take(upTo: 100).isEmpty)
            #expect(try await outbox.unpublished(limit: 100).map(\.reminderID) == ["r-7"])
        }
    }

    @Test func newRemindersInsertedAPartAtATimeKeepTheirOwnTransitionsAndStatusEvents() async throws {
        let batch: [IngestRecord] = [
            record(schedule(key: "a", reminder: "r-1"), offset: 0),
            record(schedule(key: "b", reminder: "r-2"), offset: 1),
            record(schedule(key: "c", reminder: "r-2", title: "Moved"), offset: 2),
            record(schedule(key: "d", reminder: "r-3"), offset: 3),
            record(cancel(key: "e", reminder: "r-3"), offset: 4),
            record(schedule(key: "f", reminder: "r-4"), offset: 5),
            record(schedule(key: "g", reminder: "r-5"), offset: 6),
            record(schedule(key: "h", reminder: "r-5", title: "Again"), offset: 7),
            record(cancel(key: "i", reminder: "r-5"), offset: 8),
        ]
        func stored(statementBytes: Int) async throws -> (created: Int, history: [String], statuses: [String]) {
            try await TestDatabase.withDatabase { client, _ in
                let store = IngestStore(
                    client: client, logger: TestDatabase.logger, statusEvents: true, sealer: nil,
                    statementBytes: statementBytes)
                var summary = try await store.ingest(batch)
                // Replacements of reminders stored before go a part at a time too.
                let replaced = try await store.ingest([
                    record(schedule(key: "j", reminder: "r-1", title: "Later"), offset: 9),
                    record(schedule(key: "k", reminder: "r-4", title: "Later"), offset: 10),
                    record(schedule(key: "l", reminder: "r-6"), offset: 11),
                ])
                summary.created += replaced.created
                let history = try await client.query(
                    """
                    SELECT r.reminder_id || ' ' || t.event || ' ' || t.to_state || ' ' || (r.content->>'title')
                    FROM reminder_history t JOIN reminders r ON r.id = t.reminder_id ORDER BY r.reminder_id, t.id
                    """, logger: TestDatabase.logger
                ).collect().map { try $0.decode(String.self) }
                let statuses = try await client.query(
                    """
                    SELECT s.reminder_id || ' ' || s.type || ' ' || coalesce(s.due_at::text, '-')
                        || ' ' || (s.reminder = r.id)::text
                    FROM status_events s JOIN reminders r ON r.reminder_id = s.reminder_id ORDER BY s.reminder_id, s.seq
                    """, logger: TestDatabase.logger
                ).collect().map { try $0.decode(String.self) }
                return (summary.created, history, statuses)
            }
        }
        let apart = try await stored(statementBytes: 1)
        let together = try await stored(statementBytes: 1 << 20)
        #expect(apart.created == 6)
        #expect(apart.created == together.created)
        #expect(apart.history == together.history)
        #expect(apart.statuses == together.statuses)
        for reminder in ["r-1", "r-4"] {
            #expect(
                apart.history.filter { $0.hasPrefix("\(reminder) ") } == [
                    "\(reminder) schedule SCHEDULED Later", "\(reminder) replace SCHEDULED Later",
                ])
        }
        #expect(
            apart.history.filter { $0.hasPrefix("r-5 ") } == [
                "r-5 schedule SCHEDULED Again", "r-5 replace SCHEDULED Again", "r-5 cancel CANCELLED Again",
            ])
        #expect(apart.statuses.count >= 5 && apart.statuses.allSatisfy { $0.hasSuffix(" true") }, "\(apart.statuses)")
    }
}
