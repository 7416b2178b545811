import Foundation
import Kafka
import TestSupport
import Testing

/// What a caller sees when the cluster cannot be reached: a clear, retriable error
/// within a bounded time, never a hang.
@Suite(.timeLimit(.minutes(6)))
struct UnreachableBrokerTests {
    /// A loopback port nothing listens on.
    private static let nowhere = KafkaClientConfiguration(bootstrapServers: ["127.0.0.1:1"], clientID: "unreachable")

    @Test func sendingFailsWithARetriableErrorAfterTheMessageTimeout() async throws {
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: Self.nowhere, messageTimeout: .seconds(2)))
        let started = ContinuousClock.now
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(topic: "anything", key: nil, value: [1])
        }
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(error?.isRetriable == true)
        #expect(error?.name == "_MSG_TIMED_OUT")
        await producer.close(flushTimeout: .zero)
    }

    @Test func readingMetadataFailsWithinItsTimeout() async throws {
        let admin = try KafkaAdmin(configuration: Self.nowhere)
        let started = ContinuousClock.now
        let error = await #expect(throws: KafkaError.self) {
            try await admin.partitionCount("anything", timeout: .seconds(2))
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(error?.isRetriable == true)
    }

    @Test func aConsumerReportsTheBrokerAsDownInsteadOfWaitingSilently() async throws {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(client: Self.nowhere, groupID: "unreachable"))
        try consumer.subscribe(topics: ["anything"])
        let error = try await within(.seconds(20), "a consumer error event") {
            for await event in consumer.events {
                if case .error(let error) = event { return error }
            }
            throw TimedOut(what: "events ended")
        }
        #expect(["_TRANSPORT", "_ALL_BROKERS_DOWN"].contains(error.name))
        #expect(error.isRetriable)
        await consumer.close()
    }
}
