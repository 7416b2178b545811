import Foundation
import ReminderCore
import ReminderStore
import ReminderStoreTesting
import TestSupport
import Testing

/// The in-memory ingest store decides as `IngestStore` does (these are the cases of
/// IngestStoreTests and IngestReplayTests, against the database, without it), and writes
/// its reminders where the in-memory dispatcher's store claims them.
@Suite struct MemoryIngestStoreTests {
    static func record(_ json: String, partition: Int32 = 0, offset: Int64) -> IngestRecord {
        let bytes = Array(json.utf8)
        return IngestRecord(
            topic: "reminders", partition: partition, offset: offset, key: Array("user-1".utf8), value: bytes,
            headers: [], decoded: .init(decoding: bytes))
    }

    static func replay(of id: UUID, offset: Int64) -> IngestRecord {
        IngestRecord(
            topic: "reminders", partition: 0, offset: offset, key: Array("user-1".utf8), value: Array("{}".utf8),
            headers: [.init(key: IngestRecord.replayHeader, value: Array(id.uuidString.utf8))], decoded: .replay(of: id)
        )
    }

    static func schedule(
        key: String, reminder: String = "r-1", title: String = "Dentist", at time: String = "2030-01-01T09:00:00Z"
    ) -> String {
        """
        {"schema_version":1,"type":"schedule","idempotency_key":"\(key)","reminder_id":"\(reminder)",\
        "user_id":"user-1","deliver_at":"\(time)","expires_at":"2030-01-02T09:00:00Z",\
        "channels":[{"type":"email","to":"a@b.co"}],"content":{"title":"\(title)","body":"b","data":{"n":1}}}
        """
    }

    static func cancel(key: String, reminder: String = "r-1") -> String {
        #"{"schema_version":1,"type":"cancel","idempotency_key":"\#(key)","reminder_id":"\#(reminder)","user_id":"user-1"}"#
    }

    @Test func aCancelOrReplaceFromAnotherUserChangesNothingAndIsDeadLetteredAsOwnershipConflict() async throws {
        let store = MemoryIngestStore()
        _ = try await store.ingest([Self.record(Self.schedule(key: "k1"), offset: 0)])
        let intruder = { (json: String) in
            json.replacingOccurrences(of: #""user_id":"user-1""#, with: #""user_id":"user-2""#)
        }
        let summary = try await store.ingest([
            Self.record(intruder(Self.cancel(key: "k2")), offset: 1),
            Self.record(intruder(Self.schedule(key: "k3", title: "Hijacked")), offset: 2),
        ])
        #expect(summary.ownershipConflicts == 2)
        let reminder = try #require(store.reminders.reminders.first)
        #expect(reminder.state == .scheduled && reminder.userID == "user-1")
        #expect(try Self.title(of: reminder) == "Dentist")
        #expect(reminder.history.count == 1)
        #expect(store.deadLetters.map(\.reason) == [.ownershipConflict, .ownershipConflict])
        #expect(store.deadLetters.map(\.idempotencyKey) == ["k2", "k3"])
    }

    static func title(of reminder: MemoryDispatchStore.Reminder?) throws -> String? {
        try reminder.map { try StoredDelivery.content(fromJSON: $0.content).title }
    }

    @Test func aNewScheduleIsStoredScheduledAtItsDueTimeWithItsChannelsContentAndHistory() async throws {
        let store = MemoryIngestStore()
        let summary = try await store.ingest([Self.record(Self.schedule(key: "k1"), offset: 7)])
        #expect(summary.accepted == 1)
        #expect(summary.created == 1)
        let reminder = try #require(store.reminders.reminders.first)
        #expect(store.reminders.reminders.count == 1)
        #expect(reminder.reminderID == "r-1")
        #expect(reminder.state == .scheduled)
        #expect(reminder.dueAt == RFC3339.parse("2030-01-01T09:00:00Z")!.date)
        #expect(reminder.expiresAt == RFC3339.parse("2030-01-02T09:00:00Z")!.date)
        #expect(try StoredDelivery.channels(fromJSON: reminder.channels) == [.email(to: "a@b.co")])
        #expect(try StoredDelivery.content(fromJSON: reminder.content).data == #"{"n":1}"#)
        #expect(reminder.history == [ReminderTransition(from: .pending, to: .scheduled, event: .schedule)])
        #expect(store.inboxKeys == ["k1"])
    }

    @Test func aRepeatedKeyWithTheSamePayloadIsStoredOnce() async throws {
        let store = MemoryIngestStore()
        let event = Self.schedule(key: "same")
        let first = try await store.ingest([
            Self.record(event, offset: 0), Self.record(event, partition: 1, offset: 0),
        ])
        let second = try await store.ingest([Self.record(event, offset: 1)])
        #expect(first.accepted == 1)
        #expect(first.duplicates == 1)
        #expect(second.duplicates == 1)
        #expect(second.accepted == 0)
        #expect(store.reminders.reminders.count == 1)
        #expect(store.reminders.reminders.first?.history.count == 1)
        #expect(store.inboxKeys == ["same"])
        #expect(store.deadLetters.isEmpty)
    }

    @Test func aRepeatedKeyWithAnotherPayloadIsDeadLetteredNotApplied() async throws {
        let store = MemoryIngestStore()
        _ = try await store.ingest([Self.record(Self.schedule(key: "k"), offset: 0)])
        let summary = try await store.ingest([
            Self.record(Self.schedule(key: "k", title: "Changed"), offset: 1),
            Self.record(Self.schedule(key: "k2", reminder: "r-2", title: "In batch"), offset: 2),
            Self.record(Self.schedule(key: "k2", reminder: "r-2", title: "Changed in batch"), offset: 3),
        ])
        #expect(summary.conflicts == 2)
        #expect(try store.reminders.reminders.map(Self.title) == ["Dentist", "In batch"])
        #expect(store.deadLetters.map(\.reason) == [.idempotencyConflict, .idempotencyConflict])
        #expect(Set(store.deadLetters.map(\.origin.offset)) == [1, 3])
        #expect(Set(store.deadLetters.compactMap(\.idempotencyKey)) == ["k", "k2"])
        #expect(store.deadLetters.allSatisfy { $0.error == "idempotency_key: seen before with a different payload" })
    }

    @Test func invalidEventsBecomeDeadLettersWithTheirErrorOnceEvenWhenReadTwice() async throws {
        let store = MemoryIngestStore()
        let bad = Self.record(#"{"schema_version":1,"type":"schedule","idempotency_key":"k"}"#, offset: 5)
        #expect(try await store.ingest([bad]).invalid == 1)
        #expect(try await store.ingest([bad]).invalid == 1)
        #expect(store.deadLetters.count == 1)
        #expect(store.deadLetters.first?.reason == .invalidEvent)
        #expect(store.deadLetters.first?.error == "reminder_id: is required")
        #expect(store.deadLetters.first?.value == bad.value)
        #expect(store.reminders.reminders.isEmpty)
        // Another message at the same offset (a topic made again) is a dead letter of its own.
        let other = Self.record(#"{"schema_version":1,"type":"schedule","idempotency_key":"k2"}"#, offset: 5)
        #expect(try await store.ingest([other]).invalid == 1)
        #expect(store.deadLetters.count == 2)
    }

    @Test func scheduleReplaceCancelAcrossBatchesEndsCancelledWithEveryTransition() async throws {
        let store = MemoryIngestStore()
        _ = try await store.ingest([Self.record(Self.schedule(key: "a"), offset: 0)])
        _ = try await store.ingest([
            Self.record(Self.schedule(key: "b", title: "Moved"), offset: 1),
            Self.record(Self.cancel(key: "c"), offset: 2),
        ])
        let late = try await store.ingest([Self.record(Self.cancel(key: "d"), offset: 3)])
        #expect(late.skipped.first?.reason == "the reminder is CANCELLED: cannot cancel")
        let reminder = try #require(store.reminders.reminders.first)
        #expect(store.reminders.reminders.count == 1)
        #expect(reminder.state == .cancelled)
        #expect(try Self.title(of: reminder) == "Moved")
        #expect(reminder.history.map(\.event) == [.schedule, .replace, .cancel])
    }

    @Test func aReplaceTakesTheNewScheduleWholeAndStartsItsAttemptsOver() async throws {
        let clock = Date()
        let store = MemoryIngestStore(reminders: MemoryDispatchStore(now: { clock }))
        _ = try await store.ingest([Self.record(Self.schedule(key: "a", at: "2020-01-01T09:00:00Z"), offset: 0)])
        let claimed = try await store.reminders.claim(limit: 1, lease: .seconds(60))
        _ = try await store.reminders.complete([
            DispatchStore.Completion(
                id: try #require(claimed.first).id, attempt: 1, result: .retry(after: .seconds(60)),
                progress: ChannelProgress(channelCount: 1), errorClass: "smtp_421", channelAttempts: [])
        ])
        #expect(store.reminders.reminders.first?.state == .retry)
        _ = try await store.ingest([
            Self.record(Self.schedule(key: "b", title: "Later", at: "2031-05-01T10:00:00Z"), offset: 1)
        ])
        let reminder = try #require(store.reminders.reminders.first)
        #expect(reminder.state == .scheduled)
        #expect(reminder.attempts == 0)
        #expect(reminder.leaseUntil == nil)
        #expect(reminder.dueAt == RFC3339.parse("2031-05-01T10:00:00Z")!.date)
        #expect(try Self.title(of: reminder) == "Later")
    }

    @Test func aBatchToldToFailStoresNothingAndStoresWholeWhenTriedAgain() async throws {
        let store = MemoryIngestStore()
        let batch = [
            Self.record(Self.schedule(key: "a"), offset: 0),
            Self.record(#"{"schema_version":1}"#, offset: 1),
        ]
        store.failNext(1)
        let error = await #expect(throws: StoreError.self) { try await store.ingest(batch) }
        #expect(error?.isRetriable == true)
        #expect(store.inboxKeys.isEmpty)
        #expect(store.deadLetters.isEmpty)
        #expect(store.reminders.reminders.isEmpty)
        let summary = try await store.ingest(batch)
        #expect(summary.accepted == 1)
        #expect(summary.invalid == 1)
        #expect(store.calls.count == 2)
        #expect(store.calls[0] == store.calls[1])
    }

    @Test func anIngestedReminderDueNowIsClaimedByTheDispatchStore() async throws {
        let store = MemoryIngestStore()
        _ = try await store.ingest([
            Self.record(Self.schedule(key: "due", reminder: "r-due", at: "2020-01-01T09:00:00Z"), offset: 0),
            Self.record(Self.schedule(key: "later", reminder: "r-later"), offset: 1),
        ])
        let claimed = try await store.reminders.claim(limit: 10, lease: .seconds(60))
        #expect(claimed.map(\.reminderID) == ["r-due"])
        #expect(try StoredDelivery.content(fromJSON: try #require(claimed.first).content).title == "Dentist")
    }

    /// A reminder stored, due in the past and dead-lettered by the dispatcher's store, as
    /// it would after a failed delivery; returns the store and the dead letter's id.
    static func deadLettered(reason: DeadLetterReason, now: Date = Date()) async throws -> (MemoryIngestStore, UUID) {
        let store = MemoryIngestStore(reminders: MemoryDispatchStore(now: { now }))
        _ = try await store.ingest([Self.record(Self.schedule(key: "key-1", at: "2020-01-01T09:00:00Z"), offset: 0)])
        let claimed = try #require(try await store.reminders.claim(limit: 1, lease: .seconds(60)).first)
        try await store.reminders.complete([
            DispatchStore.Completion(
                id: claimed.id, attempt: claimed.attempt, result: .deadLetter(reason, error: "email: smtp_550"),
                progress: ChannelProgress(channelCount: 1), errorClass: "smtp_550", channelAttempts: [])
        ])
        let reminder = try #require(store.reminders.reminders.first)
        #expect(reminder.state == .deadLetter)
        return (store, try #require(reminder.deadLetterIDs.first))
    }

    @Test func aReplayResetsTheReminderOnceHoweverOftenItComes() async throws {
        // After the reminder's expiry: a replay delivers it late, as the operator chose.
        let now = RFC3339.parse("2030-01-03T00:00:00Z")!.date
        let (store, id) = try await Self.deadLettered(reason: .expired, now: now)
        let first = try await store.ingest([Self.replay(of: id, offset: 1), Self.replay(of: id, offset: 2)])
        #expect(first.replayed == 1)
        #expect(first.replaysIgnored == 1)
        let reminder = try #require(store.reminders.reminders.first)
        #expect(reminder.state == .scheduled)
        #expect(reminder.attempts == 0)
        #expect(reminder.expiresAt == nil, "an expiry that has passed no longer stops the replay")
        #expect(reminder.dueAt == now)
        let second = try await store.ingest([Self.replay(of: id, offset: 3)])
        #expect(second.replayed == 0)
        #expect(second.replaysIgnored == 1)
        let history = try #require(store.reminders.reminders.first).history
        #expect(history.filter { $0.event == .replay }.count == 1)
        #expect(history.last?.detail == "dead letter \(id.uuidString.lowercased())")
        #expect(store.inboxKeys == ["key-1"], "a replay is not a new event")
    }

    @Test func aCancelBehindAReplayInTheSameBatchFindsTheReminderResetAndCancelsIt() async throws {
        let (store, id) = try await Self.deadLettered(reason: .deliveryExhausted)
        let summary = try await store.ingest([
            Self.replay(of: id, offset: 1), Self.record(Self.cancel(key: "key-2"), offset: 2),
        ])
        #expect(summary.replayed == 1)
        #expect(summary.skipped.isEmpty)
        #expect(store.reminders.reminders.first?.state == .cancelled)
    }

    @Test func aReplayNamingNoReplayableDeadLetterIsDeadLetteredAsInvalid() async throws {
        let store = MemoryIngestStore()
        _ = try await store.ingest([Self.record(#"{"type":"schedule"}"#, offset: 0)])
        let invalid = try #require(store.deadLetters.first?.id)
        let summary = try await store.ingest([Self.replay(of: invalid, offset: 1), Self.replay(of: UUID(), offset: 2)])
        #expect(summary.invalid == 2)
        #expect(summary.replayed == 0)
        let errors = store.deadLetters.filter { $0.origin.offset > 0 }.map(\.error)
        #expect(errors.count == 2)
        #expect(errors.first?.contains("dead letters of reason invalid_event cannot be replayed") == true)
        #expect(errors.last?.contains("no dead letter has this id") == true)
        #expect(errors.allSatisfy { $0.hasPrefix("(header x-replay-of): ") })
    }
}
