import Foundation
import TestSupport
import Testing

@testable import Kafka

/// A caller that stops taking messages (its database is away, say) for longer than
/// `max.poll.interval.ms` keeps its membership and its place: librdkafka leaves the group
/// of a member that does not poll for that long, and the partitions' next owner would
/// read again everything that was not committed.
@Suite(.timeLimit(.minutes(6)))
struct SlowCallerTests {
    @Test func aCallerThatStopsTakingMessagesPastTheMaxPollIntervalKeepsItsPartitionsAndItsPlace() async throws {
        let topic = try await TestBroker.makeTopic("slow-caller", partitions: 2)
        let sent = 200
        let producer = try TestBroker.producer()
        let results = await producer.send(
            (0..<sent).map {
                KafkaProducerMessage(topic: topic, partition: Int32($0 % 2), key: nil, value: Array("\($0)".utf8))
            })
        await producer.close()
        #expect(results.filter { (try? $0.get()) == nil }.isEmpty)

        var configuration = TestBroker.consumerConfiguration(group: TestBroker.uniqueGroup("slow-caller"))
        configuration.maxPollInterval = .seconds(6)
        configuration.maxBufferedMessages = 20
        configuration.pollBatchSize = 10
        let consumer = try KafkaConsumer(configuration: configuration)
        let events = EventLog(consumer)
        try consumer.subscribe(topics: [topic])

        let received = try await within(.seconds(60), "all \(sent) messages") {
            var batches = consumer.batches.makeAsyncIterator()
            var received = try await batches.next() ?? []
            // The caller stalls with the buffer full, half again as long as the interval.
            try await Task.sleep(for: .seconds(9))
            while received.count < sent, let batch = try await batches.next() {
                received += batch
            }
            return received
        }
        let eventsBeforeClose = events.seen
        await consumer.close()

        let positions = received.map { "\($0.partition)/\($0.offset)" }
        #expect(Set(positions).count == received.count, "a message was read twice")
        #expect(received.count == sent)
        #expect(
            !eventsBeforeClose.contains {
                if case .lost = $0 { return true }
                if case .revoked = $0 { return true }
                return false
            }, "the member lost its partitions while its caller stalled: \(eventsBeforeClose)")
    }
}

/// The consumer's events as they happen, for a test to look at.
private final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [KafkaConsumerEvent] = []

    init(_ consumer: KafkaConsumer) {
        Task { [weak self] in
            for await event in consumer.events { self?.append(event) }
        }
    }

    private func append(_ event: KafkaConsumerEvent) {
        lock.withLock { events.append(event) }
    }

    var seen: [KafkaConsumerEvent] { lock.withLock { events } }
}
