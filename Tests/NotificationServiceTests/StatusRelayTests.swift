import Foundation
import Logging
import ReminderCore
import ReminderStore
import ReminderStoreTesting
import TestSupport
import Testing

@testable import Kafka
@testable import NotificationService

/// The status relay's record, its rule for what a partly refused batch marks published,
/// and its store calls' bound (over the in-memory outbox and a manual clock).
@Suite(.timeLimit(.minutes(6))) struct StatusRelayTests {
    private static func record(
        _ sequence: Int64, reminder: String, type: String = "scheduled", occurrence: Int? = nil,
        willRetry: Bool? = nil
    ) -> StatusEventStore.Record {
        StatusEventStore.Record(
            id: UUID(), sequence: sequence, type: type, reminderID: reminder, userID: "user-1",
            correlationID: sequence.isMultiple(of: 2) ? "corr-\(sequence)" : nil, occurrence: occurrence, attempt: 0,
            channel: nil, provider: nil, willRetry: willRetry, dueAt: "2027-01-04T08:00:00.000000Z", reason: nil,
            error: nil, detail: nil, at: "2027-01-03T08:00:00.000000Z")
    }

    @Test func aRefusedRecordHoldsBackItsRemindersLaterOnesButNotOtherReminders() {
        let records = [
            Self.record(1, reminder: "a"), Self.record(2, reminder: "b"), Self.record(3, reminder: "a"),
            Self.record(4, reminder: "b"), Self.record(5, reminder: "c"), Self.record(6, reminder: "a"),
        ]
        // a's first refused: a's later ones are not marked, even though acknowledged.
        let marked = StatusRelay<ContinuousClock>.markable(records, [false, true, true, true, true, true])
        #expect(marked.map(\.sequence) == [2, 4, 5])
        // b's second refused: b's first stays marked.
        let second = StatusRelay<ContinuousClock>.markable(records, [true, true, true, false, true, true])
        #expect(second.map(\.sequence) == [1, 2, 3, 5, 6])
        #expect(StatusRelay<ContinuousClock>.markable(records, Array(repeating: true, count: 6)).count == 6)
        #expect(StatusRelay<ContinuousClock>.markable(records, Array(repeating: false, count: 6)).isEmpty)
    }

    @Test func theRecordIsKeyedByUserWithItsIdInAHeaderAndLeavesAbsentFieldsOut() throws {
        let record = Self.record(7, reminder: "r-1", type: "attempt_failed", occurrence: 3, willRetry: false)
        let message = StatusRelay<ContinuousClock>.message(record, topic: "reminders.status")
        #expect(message.topic == "reminders.status")
        #expect(message.key == Array("user-1".utf8))
        let headers = Dictionary(
            uniqueKeysWithValues: message.headers.map { ($0.key, String(decoding: $0.value ?? [], as: UTF8.self)) })
        #expect(
            headers == [
                "x-status-id": record.id.uuidString.lowercased(), "x-status-type": "attempt_failed",
                "content-type": "application/json",
            ])
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(message.value ?? [])) as? [String: Any])
        #expect(
            Set(json.keys) == [
                "schema_version", "id", "sequence", "type", "reminder_id", "user_id", "occurrence", "attempt",
                "will_retry", "due_at", "at",
            ])
        #expect(json["occurrence"] as? Int == 3 && json["sequence"] as? Int == 7)
        #expect(json["will_retry"] as? Bool == false)
        #expect(json["id"] as? String == record.id.uuidString.lowercased())
    }

    @Test func theValueIsCompactJSONWithSortedKeysAndEscapedText() {
        let id = UUID(uuidString: "00000000-0000-4000-8000-000000000001")!
        let record = StatusEventStore.Record(
            id: id, sequence: 12, type: "dead_lettered", reminderID: "r-\"1\"", userID: "user/1",
            correlationID: nil, occurrence: nil, attempt: 3, channel: "webhook", provider: "webhook",
            willRetry: nil, dueAt: nil, reason: "permanent_failure", error: "HTTP 400\nbad\trequest\u{1}",
            detail: nil, at: "2027-01-03T08:00:00.000000Z")
        let value = StatusRelay<ContinuousClock>.message(record, topic: "reminders.status").value ?? []
        #expect(
            String(decoding: value, as: UTF8.self)
                == #"{"at":"2027-01-03T08:00:00.000000Z","attempt":3,"channel":"webhook","#
                + #""error":"HTTP 400\nbad\trequest\u0001","id":"00000000-0000-4000-8000-000000000001","#
                + #""provider":"webhook","reason":"permanent_failure","reminder_id":"r-\"1\"","schema_version":1,"#
                + #""sequence":12,"type":"dead_lettered","user_id":"user/1"}"#)
    }

    /// A read that never answers, as one in flight when the database connection was cut,
    /// is given up after the store timeout and read again: the relay goes on publishing
    /// and stops when asked.
    @Test func aReadThatNeverAnswersIsGivenUpAfterTheStoreTimeoutAndTriedAgain() async throws {
        let store = MemoryStatusEventStore()
        store.add(Self.record(1, reminder: "a"))
        store.add(Self.record(2, reminder: "b"))
        store.stallNext(1)
        let publisher = DeadLetterRelayTests.ScriptedPublisher([.acknowledge])
        let clock = ManualClock()
        var logger = Logger(label: "status-relay-unit")
        logger.logLevel = .critical
        let relay = StatusRelay(
            store: store, producer: publisher,
            configuration: .init(
                topic: "reminders.status", batchSize: 10, idleInterval: .seconds(1),
                retry: ExponentialBackoff(
                    initialDelay: .milliseconds(100), multiplier: 2, maximumDelay: .seconds(5), jitter: 0),
                storeTimeout: .seconds(3)),
            logger: logger, clock: clock)
        let running = Task { try await relay.run() }
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .seconds(3)))
        #expect(publisher.sends.isEmpty)
        clock.advance(by: .seconds(3))
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(3_100)))
        clock.advance(by: .milliseconds(100))
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(4_100)))
        #expect(store.publishedSequences == [1, 2])
        #expect(publisher.sends.map(\.count) == [2])
        running.cancel()
        try await running.value
        #expect(publisher.isClosed)
        store.answerStalled()
    }

    private static func relay(
        _ store: MemoryStatusEventStore, _ publisher: DeadLetterRelayTests.ScriptedPublisher, clock: ManualClock,
        handOff: StatusHandOff? = nil
    ) -> StatusRelay<ManualClock> {
        var logger = Logger(label: "status-relay-unit")
        logger.logLevel = .critical
        return StatusRelay(
            store: store, producer: publisher,
            configuration: .init(
                topic: "reminders.status", batchSize: 10, idleInterval: .seconds(1), storeTimeout: .seconds(10),
                publishTimeout: .seconds(15), leaseRenewal: .seconds(5)),
            logger: logger, clock: clock, handOff: handOff)
    }

    /// A relay that acknowledges every send, with a hand-off of 100 records.
    private static func handingRelay() -> (
        MemoryStatusEventStore, ManualClock, DeadLetterRelayTests.ScriptedPublisher, StatusHandOff,
        StatusRelay<ManualClock>
    ) {
        let store = MemoryStatusEventStore()
        let clock = ManualClock()
        let publisher = DeadLetterRelayTests.ScriptedPublisher([.acknowledge])
        let handOff = StatusHandOff(capacity: 100)
        return (store, clock, publisher, handOff, relay(store, publisher, clock: clock, handOff: handOff))
    }

    /// Two instances' relays on one outbox: the first to ask holds the lease and publishes;
    /// the other publishes nothing until the lease expires, and then holds it; the first,
    /// once its own view of the lease runs out, asks, is refused and stops publishing.
    @Test func onlyTheRelayHoldingTheLeasePublishesAndAnotherTakesOverWhenItExpires() async throws {
        let store = MemoryStatusEventStore()
        let clock = ManualClock()
        let (firstPublisher, secondPublisher) = (
            DeadLetterRelayTests.ScriptedPublisher([.acknowledge]),
            DeadLetterRelayTests.ScriptedPublisher([.acknowledge])
        )
        let (first, second) = (
            Self.relay(store, firstPublisher, clock: clock), Self.relay(store, secondPublisher, clock: clock)
        )
        #expect(first.holder != second.holder)
        store.add(Self.record(1, reminder: "a"))
        store.add(Self.record(2, reminder: "b"))
        #expect(try await first.relayOnce() == 2)
        #expect(store.leaseHolder == first.holder)
        store.add(Self.record(3, reminder: "a"))
        #expect(try await second.relayOnce() == 0)
        #expect(secondPublisher.sends.isEmpty)
        #expect(try await first.relayOnce() == 1)
        // The first stops renewing (its process paused): past its lease, the second takes it.
        clock.advance(by: .seconds(31))
        store.expireLease()
        store.add(Self.record(4, reminder: "a"))
        #expect(try await second.relayOnce() == 1)
        #expect(store.leaseHolder == second.holder)
        store.add(Self.record(5, reminder: "b"))
        #expect(try await first.relayOnce() == 0)
        #expect(firstPublisher.sends.map(\.count) == [2, 1])
        #expect(try await second.relayOnce() == 1)
        #expect(secondPublisher.sends.map(\.count) == [1, 1])
        #expect(store.publishedSequences == [1, 2, 3, 4, 5])
    }

    /// A relay that stops gives the lease up once its producer is closed: the other
    /// instance's relay takes over at once, without waiting for the lease to expire.
    @Test func aRelayThatStopsGivesTheLeaseUpForAnotherToTakeAtOnce() async throws {
        let store = MemoryStatusEventStore()
        let clock = ManualClock()
        let publisher = DeadLetterRelayTests.ScriptedPublisher([.acknowledge])
        let first = Self.relay(store, publisher, clock: clock)
        let second = Self.relay(store, DeadLetterRelayTests.ScriptedPublisher([.acknowledge]), clock: clock)
        store.add(Self.record(1, reminder: "a"))
        let running = Task { try await first.run() }
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .seconds(1)))
        #expect(store.publishedSequences == [1])
        #expect(store.leaseHolder == first.holder)
        #expect(try await second.relayOnce() == 0)
        running.cancel()
        try await running.value
        #expect(publisher.isClosed)
        #expect(store.leaseHolder == nil)
        store.add(Self.record(2, reminder: "b"))
        #expect(try await second.relayOnce() == 1)
        #expect(store.leaseHolder == second.holder)
    }

    /// Ingest's committed records of new reminders go out from the hand-off without a read
    /// while the relay is caught up; the outbox is still read once an idle interval has
    /// passed (for what other writers wrote), and a handed record a read already published
    /// is not published again.
    @Test func handedOverRecordsArePublishedWithoutAReadWhileTheRelayIsCaughtUp() async throws {
        let (store, clock, publisher, handOff, relay) = Self.handingRelay()
        /// Written to the outbox and, as ingest does after its commit, handed over.
        func ingest(_ records: [StatusEventStore.Record]) {
            records.forEach(store.add)
            handOff.offer(records)
        }
        ingest([Self.record(1, reminder: "a")])
        #expect(!handOff.isOpen && handOff.isEmpty)
        // Not caught up yet: a read, less than a batch, all published; the hand-off opens.
        #expect(try await relay.relayOnce() == 1)
        #expect(store.reads == 1 && handOff.isOpen)
        ingest([Self.record(2, reminder: "b"), Self.record(3, reminder: "b")])
        #expect(try await relay.relayOnce() == 2)
        #expect(store.reads == 1)
        #expect(store.publishedSequences == [1, 2, 3])
        // Another writer's record (dispatch's) waits for the next read, due an idle
        // interval after the last.
        store.add(Self.record(4, reminder: "a", type: "delivered"))
        ingest([Self.record(5, reminder: "c")])
        #expect(try await relay.relayOnce() == 1)
        #expect(store.publishedSequences == [1, 2, 3, 5])
        clock.advance(by: .seconds(1))
        ingest([Self.record(6, reminder: "d")])
        #expect(try await relay.relayOnce() == 2)
        #expect(store.reads == 2 && store.publishedSequences == [1, 2, 3, 4, 5, 6])
        // Committed, read and published before ingest handed it over: not sent again.
        store.add(Self.record(7, reminder: "e"))
        #expect(try await relay.relayOnce() == 1)
        handOff.offer([Self.record(7, reminder: "e")])
        let sends = publisher.sends.count
        #expect(try await relay.relayOnce() == 1)
        #expect(publisher.sends.count == sends)
        #expect(publisher.sends.flatMap { $0 }.count == 7)
        // A read that is due waits while the hand-off holds records (it would find them and
        // publish them instead), for five idle intervals at most. Fifteen ingest batches
        // of one record each: the relay takes ten a time (whole batches, a batch's worth).
        let reads = store.reads
        clock.advance(by: .seconds(1))
        for sequence in 8...22 { ingest([Self.record(Int64(sequence), reminder: "f\(sequence)")]) }
        #expect(try await relay.relayOnce() == 10)
        #expect(store.reads == reads)
        #expect(try await relay.relayOnce() == 5)
        #expect(store.reads == reads + 1)
        clock.advance(by: .seconds(5))
        for sequence in 23...37 { ingest([Self.record(Int64(sequence), reminder: "g\(sequence)")]) }
        #expect(try await relay.relayOnce() == 15)
        #expect(store.reads == reads + 2)
        #expect(store.publishedSequences == Array(1...37))
        #expect(publisher.sends.flatMap { $0 }.count == 37)
    }

    /// An idle relay does not sleep out its interval while ingest hands records over: in
    /// 200 ms ingest commits more than the hand-off holds, and what it drops the relay
    /// reads back. A handed record wakes it; the clock stands still.
    @Test func anIdleRelayWakesWhenRecordsAreHandedOver() async throws {
        let (store, clock, publisher, handOff, relay) = Self.handingRelay()
        let running = Task { try await relay.run() }
        // Its first read finds nothing: caught up, the hand-off open, asleep for a second.
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .seconds(1)))
        #expect(handOff.isOpen && store.reads == 1)
        for round in Int64(1)...3 {
            let records = [
                Self.record(round * 2 - 1, reminder: "r\(round)"), Self.record(round * 2, reminder: "r\(round)"),
            ]
            records.forEach(store.add)
            handOff.offer(records)
            try await eventually(.seconds(10), "the handed records published") {
                store.publishedSequences == Array(1...(round * 2))
            }
        }
        #expect(publisher.sends.map(\.count) == [2, 2, 2])
        #expect(clock.now == ManualClock.Instant(sinceStart: .zero))
        running.cancel()
        try await running.value
    }

    /// A publish that fails shuts the hand-off: what it held, and what ingest hands over
    /// until a read has caught up again, is left to the reads, in order.
    @Test func aFailedPublishShutsTheHandOffUntilAReadHasCaughtUp() async throws {
        let store = MemoryStatusEventStore()
        let publisher = DeadLetterRelayTests.ScriptedPublisher([
            .refuse(DeadLetterRelayTests.brokerAway), .acknowledge,
        ])
        let handOff = StatusHandOff(capacity: 100)
        let relay = Self.relay(store, publisher, clock: ManualClock(), handOff: handOff)
        #expect(try await relay.relayOnce() == 0)
        #expect(handOff.isOpen)
        for record in [Self.record(1, reminder: "a"), Self.record(2, reminder: "a")] { store.add(record) }
        handOff.offer([Self.record(1, reminder: "a"), Self.record(2, reminder: "a")])
        await #expect(throws: KafkaError.self) { try await relay.relayOnce() }
        #expect(!handOff.isOpen && handOff.isEmpty)
        store.add(Self.record(3, reminder: "a"))
        handOff.offer([Self.record(3, reminder: "a")])
        #expect(handOff.isEmpty)
        #expect(try await relay.relayOnce() == 3)
        #expect(store.publishedSequences == [1, 2, 3] && handOff.isOpen)
    }
}
