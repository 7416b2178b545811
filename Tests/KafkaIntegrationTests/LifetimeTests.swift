import Foundation
import TestSupport
import Testing

@testable import Kafka

/// Handles and threads end with their owners, even without `close()`.
@Suite(.timeLimit(.minutes(6)))
struct LifetimeTests {
    @Test func aConsumerDroppedWhileIteratingLeavesAndFreesItsThreadAndHandle() async throws {
        let topic = try await TestBroker.makeTopic("dropped", partitions: 1)
        let producer = try TestBroker.producer()
        _ = await producer.send((0..<10).map { KafkaProducerMessage(topic: topic, key: nil, value: [UInt8($0)]) })
        await producer.close()

        let core = WeakReference<ConsumerCore>()
        do {
            let consumer = try KafkaConsumer(
                configuration: TestBroker.consumerConfiguration(group: TestBroker.uniqueGroup("dropped")))
            core.value = consumer.core
            try consumer.subscribe(topics: [topic])
            let firstFew = Task {
                var seen = 0
                for try await _ in consumer.messages {
                    seen += 1
                    if seen == 3 { break }  // stops iterating and never closes
                }
                return seen
            }
            #expect(try await firstFew.value == 3)
        }
        // The poll thread holds the core until it has left the group and destroyed the handle.
        try await eventually(.seconds(30), "the dropped consumer's poll thread to end") { core.value == nil }
    }

    @Test func aCancelledIterationEndsWithoutAMessage() async throws {
        let consumer = try KafkaConsumer(
            configuration: TestBroker.consumerConfiguration(group: TestBroker.uniqueGroup("cancelled")))
        try consumer.subscribe(topics: [try await TestBroker.makeTopic("cancelled", partitions: 1)])
        let iteration = Task {
            var count = 0
            for try await _ in consumer.messages { count += 1 }
            return count
        }
        try await Task.sleep(for: .milliseconds(300))
        iteration.cancel()
        #expect(try await iteration.value == 0)
        await consumer.close()
    }

    @Test func aProducerClosedWithUndeliverableMessagesAnswersEverySender() async throws {
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                client: KafkaClientConfiguration(bootstrapServers: ["127.0.0.1:1"]), messageTimeout: .seconds(60)))
        let sending = Task { await producer.send([KafkaProducerMessage(topic: "t", key: nil, value: [1])]) }
        try await Task.sleep(for: .milliseconds(200))
        await producer.close(flushTimeout: .milliseconds(100))
        let results = await sending.value
        #expect(results.count == 1)
        #expect(throws: KafkaError.self) { try results[0].get() }
    }
}

/// A weak reference that a polling closure may read.
final class WeakReference<Object: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private weak var object: Object?

    var value: Object? {
        get { lock.withLock { object } }
        set { lock.withLock { object = newValue } }
    }
}
