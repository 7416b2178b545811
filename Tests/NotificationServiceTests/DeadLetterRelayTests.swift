import Foundation
import Logging
import ReminderCore
import ReminderStore
import ReminderStoreTesting
import Synchronization
import Testing

@testable import Kafka
@testable import NotificationService

/// The dead-letter relay over the in-memory outbox, a publisher in the test's process and
/// a manual clock: no database, broker or real waiting.
@Suite(.timeLimit(.minutes(6))) struct DeadLetterRelayTests {
    /// Answers each `send` with the next of its answers (the last one repeats), per
    /// message, and keeps every message it was given.
    final class ScriptedPublisher: KafkaPublishing {
        /// How one message of a send is answered.
        enum Answer: Sendable {
            case acknowledge
            case refuse(KafkaError)
            /// Refuses a message that carries a value as too large; acknowledges one without.
            case refuseValues
        }

        private let script: Mutex<(answers: [Answer], sends: [[KafkaProducerMessage]], closed: Bool)>

        init(_ answers: [Answer]) {
            script = Mutex((answers, [], false))
        }

        var sends: [[KafkaProducerMessage]] { script.withLock { $0.sends } }
        var isClosed: Bool { script.withLock { $0.closed } }

        func send(_ messages: [KafkaProducerMessage]) async -> [Result<KafkaDeliveryReport, KafkaError>] {
            let answer = script.withLock { script -> Answer in
                script.sends.append(messages)
                return script.answers.count > 1 ? script.answers.removeFirst() : script.answers[0]
            }
            return messages.enumerated().map { index, message in
                let acknowledged = Result<KafkaDeliveryReport, KafkaError>.success(
                    KafkaDeliveryReport(topic: message.topic, partition: 0, offset: Int64(index)))
                switch answer {
                case .acknowledge: return acknowledged
                case .refuse(let error): return .failure(error)
                case .refuseValues: return message.value == nil ? acknowledged : .failure(DeadLetterRelayTests.tooLarge)
                }
            }
        }

        func close(flushTimeout: Duration) async {
            script.withLock { $0.closed = true }
        }
    }

    static let brokerAway = KafkaError(
        category: .broker, code: -195, name: "_TRANSPORT", message: "broker unreachable", operation: "produce",
        isRetriable: true)
    static let tooLarge = KafkaError(
        category: .broker, code: 10, name: "MSG_SIZE_TOO_LARGE", message: "too large", operation: "produce")
    /// 100 ms doubling, no jitter: the waits are exact.
    static let configuration = DeadLetterRelay<ManualClock>.Configuration(
        topic: "reminders.dlq", batchSize: 10, idleInterval: .seconds(1),
        retry: ExponentialBackoff(initialDelay: .milliseconds(100), multiplier: 2, maximumDelay: .seconds(5), jitter: 0)
    )

    static func record(_ number: Int, value: [UInt8]? = Array("{}".utf8)) -> DeadLetterStore.Record {
        DeadLetterStore.Record(
            id: UUID(), reason: "invalid_event", error: "the field due_at is missing", attempts: 0,
            originalTopic: "reminders", originalPartition: 3, originalOffset: Int64(40 + number),
            key: Array("key-\(number)".utf8), value: value,
            headers: [IngestRecord.Header(key: "source", value: Array("crm".utf8))],
            idempotencyKey: "idem-\(number)", correlationID: nil, failedAt: "2025-01-02T03:04:05.000000Z", trace: nil)
    }

    static func relay(
        _ store: MemoryDeadLetterStore, _ publisher: ScriptedPublisher, clock: ManualClock
    ) -> DeadLetterRelay<ManualClock> {
        var logger = Logger(label: "relay-unit")
        logger.logLevel = .critical
        return DeadLetterRelay(
            store: store, producer: publisher, configuration: configuration, logger: logger, clock: clock)
    }

    static func header(_ key: String, of message: KafkaProducerMessage) -> String? {
        message.headers.first { $0.key == key }?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func theOutboxIsPublishedInOrderWithItsDeadLetterHeadersAndMarkedPublished() async throws {
        let store = MemoryDeadLetterStore()
        let records = [Self.record(1), Self.record(2)]
        records.forEach(store.add)
        let publisher = ScriptedPublisher([.acknowledge])
        let published = try await Self.relay(store, publisher, clock: ManualClock()).relayOnce()
        #expect(published == 2)
        #expect(store.publishedIDs == records.map(\.id))
        let messages = try #require(publisher.sends.first)
        #expect(messages.map(\.topic) == ["reminders.dlq", "reminders.dlq"])
        #expect(messages.map(\.key) == records.map(\.key))
        #expect(messages.map { Self.header("x-dlq-id", of: $0) } == records.map { $0.id.uuidString.lowercased() })
        #expect(Self.header("x-dlq-reason", of: messages[0]) == "invalid_event")
        #expect(Self.header("x-original-offset", of: messages[1]) == "42")
        #expect(Self.header("x-idempotency-key", of: messages[0]) == "idem-1")
        #expect(Self.header("source", of: messages[0]) == "crm")
    }

    /// Two instances' relays on one outbox: the first to ask holds the lease and publishes;
    /// the other publishes nothing until the lease expires, and then holds it. A relay that
    /// stops gives the lease up, and the other takes it at once.
    @Test func onlyTheRelayHoldingTheLeasePublishesAndAnotherTakesOverWhenItExpiresOrIsGivenUp() async throws {
        let store = MemoryDeadLetterStore()
        let clock = ManualClock()
        let (firstPublisher, secondPublisher) = (ScriptedPublisher([.acknowledge]), ScriptedPublisher([.acknowledge]))
        let (first, second) = (
            Self.relay(store, firstPublisher, clock: clock), Self.relay(store, secondPublisher, clock: clock)
        )
        #expect(first.holder != second.holder)
        let records = (1...4).map { Self.record($0) }
        store.add(records[0])
        store.add(records[1])
        #expect(try await first.relayOnce() == 2)
        #expect(store.leaseHolder == first.holder)
        store.add(records[2])
        #expect(try await second.relayOnce() == 0)
        #expect(secondPublisher.sends.isEmpty)
        // The first stops renewing (its process paused): past its lease, the second takes it.
        clock.advance(by: .seconds(31))
        store.expireLease()
        #expect(try await second.relayOnce() == 1)
        #expect(store.leaseHolder == second.holder)
        store.add(records[3])
        #expect(try await first.relayOnce() == 0)
        #expect(firstPublisher.sends.map(\.count) == [2])
        // The second stops: it gives the lease up once its producer is closed.
        let running = Task { try await second.run() }
        await clock.waitForSleep(until: clock.now.advanced(by: .seconds(1)))
        running.cancel()
        try await running.value
        #expect(secondPublisher.isClosed)
        #expect(store.leaseHolder == nil)
        #expect(secondPublisher.sends.map(\.count) == [1, 1])
        #expect(store.publishedIDs == records.map(\.id))
        store.add(Self.record(5))
        #expect(try await first.relayOnce() == 1)
        #expect(store.leaseHolder == first.holder)
    }

    @Test func anEmptyOutboxPublishesNothing() async throws {
        let publisher = ScriptedPublisher([.acknowledge])
        #expect(try await Self.relay(MemoryDeadLetterStore(), publisher, clock: ManualClock()).relayOnce() == 0)
        #expect(publisher.sends.isEmpty)
    }

    @Test func aRecordTooLargeForTheTopicIsPublishedWithoutItsValue() async throws {
        let store = MemoryDeadLetterStore()
        let record = Self.record(1, value: Array(repeating: 0x41, count: 64))
        store.add(record)
        let publisher = ScriptedPublisher([.refuseValues])
        #expect(try await Self.relay(store, publisher, clock: ManualClock()).relayOnce() == 1)
        #expect(publisher.sends.count == 2)
        let retried = try #require(publisher.sends.last?.first)
        #expect(retried.value == nil)
        #expect(Self.header("x-dlq-value-omitted", of: retried) == "64 bytes, too large for the topic")
        #expect(store.publishedIDs == [record.id])
    }

    @Test func recordsTheBrokerRefusedStayInTheOutboxAndArePublishedAfterTheBackoff() async throws {
        let store = MemoryDeadLetterStore()
        let records = [Self.record(1), Self.record(2)]
        records.forEach(store.add)
        let publisher = ScriptedPublisher([.refuse(Self.brokerAway), .refuse(Self.brokerAway), .acknowledge])
        let clock = ManualClock()
        let relay = Self.relay(store, publisher, clock: clock)
        let running = Task { try await relay.run() }
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(100)))
        #expect(store.publishedIDs.isEmpty)
        #expect(publisher.sends.count == 1)
        clock.advance(by: .milliseconds(100))
        // The second failure waits twice as long.
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(300)))
        #expect(publisher.sends.count == 2)
        clock.advance(by: .milliseconds(200))
        // Published; the outbox is empty now, and the relay idles.
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(1_300)))
        #expect(store.publishedIDs == records.map(\.id))
        #expect(publisher.sends.count == 3)
        running.cancel()
        try await running.value
        #expect(publisher.isClosed)
    }

    @Test func anOutboxThatCannotBeReadIsReadAgainAfterTheBackoff() async throws {
        let store = MemoryDeadLetterStore()
        let record = Self.record(1)
        store.add(record)
        store.failNext(1)
        let publisher = ScriptedPublisher([.acknowledge])
        let clock = ManualClock()
        let running = Task { try await Self.relay(store, publisher, clock: clock).run() }
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(100)))
        #expect(publisher.sends.isEmpty)
        clock.advance(by: .milliseconds(100))
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(1_100)))
        #expect(store.publishedIDs == [record.id])
        running.cancel()
        try await running.value
    }

    /// A read that never answers, as one in flight when the database connection was cut
    /// (seen in a test run: the relay stopped publishing and its service group's graceful
    /// shutdown waited for ever), is given up after the store timeout and read again.
    @Test(arguments: [false, true])
    func aStoreCallThatNeverAnswersIsGivenUpAfterTheStoreTimeoutAndTriedAgain(stallsTheMark: Bool) async throws {
        let store = MemoryDeadLetterStore()
        let record = Self.record(1)
        store.add(record)
        let publisher = ScriptedPublisher([.acknowledge])
        let clock = ManualClock()
        let relay = Self.relay(store, publisher, clock: clock)
        if stallsTheMark {
            // The read answers; the mark that follows the broker's acknowledgement does not.
            #expect(try await relay.relayOnce() == 1)
            store.stallNext(1)
            store.add(Self.record(2))
        } else {
            store.stallNext(1)
        }
        let running = Task { try await relay.run() }
        // Given up after 10 s (the default store timeout), tried again 100 ms later.
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .seconds(10)))
        clock.advance(by: .seconds(10))
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(10_100)))
        clock.advance(by: .milliseconds(100))
        // Published and marked; the outbox is empty and the relay idles.
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(11_100)))
        #expect(store.publishedIDs.count == (stallsTheMark ? 2 : 1))
        #expect(store.publishedIDs.first == record.id)
        running.cancel()
        try await running.value
        #expect(publisher.isClosed)
        store.answerStalled()
    }

    @Test func anIdleRelayLooksAgainAfterItsIdleIntervalAndNotBefore() async throws {
        let store = MemoryDeadLetterStore()
        let publisher = ScriptedPublisher([.acknowledge])
        let clock = ManualClock()
        let running = Task { try await Self.relay(store, publisher, clock: clock).run() }
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .seconds(1)))
        let record = Self.record(1)
        store.add(record)
        clock.advance(by: .milliseconds(999))
        #expect(store.publishedIDs.isEmpty)
        clock.advance(by: .milliseconds(1))
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .seconds(2)))
        #expect(store.publishedIDs == [record.id])
        running.cancel()
        try await running.value
        #expect(publisher.isClosed)
    }
}
