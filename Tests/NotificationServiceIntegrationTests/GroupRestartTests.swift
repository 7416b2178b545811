import Foundation
import Kafka
import NotificationService
import PostgresNIO
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(5)))
struct GroupRestartTests {
    static func event(_ index: Int) -> KafkaProducerMessage {
        let user = "user-\(index % 997)"
        let value = """
            {"schema_version":1,"type":"schedule","idempotency_key":"key-\(index)","reminder_id":"reminder-\(index)",\
            "user_id":"\(user)","deliver_at":"2030-01-01T09:00:00Z","channels":[{"type":"email","to":"a@b.co"}],\
            "content":{"title":"Reminder \(index)","body":"Body"}}
            """
        return KafkaProducerMessage(topic: "", key: Array(user.utf8), value: Array(value.utf8))
    }

    @Test func twoInstancesWithOneRestartedMidStreamStoreEveryEventExactlyOnce() async throws {
        let total = 100_000
        let (topic, dlq) = try await Topics.make("restart", partitions: 8)
        try await TestDatabase.withDatabase { database, _ in
            let producer = try Topics.producer()
            for start in stride(from: 0, to: total, by: 10_000) {
                let batch = (start..<(start + 10_000)).map { index in
                    var message = Self.event(index)
                    message.topic = topic
                    return message
                }
                for result in await producer.send(batch) { _ = try result.get() }
            }
            await producer.close()

            let first = try ServiceInstance(database: database, topic: topic, dlqTopic: dlq, groupID: "restart")
            var second = try ServiceInstance(database: database, topic: topic, dlqTopic: dlq, groupID: "restart")
            try await eventually(.seconds(120), "a fifth of the events to be stored", every: .milliseconds(200)) {
                try await TestDatabase.count(database, "SELECT count(*)::int8 FROM inbox") >= total / 5
            }
            try await second.stop()
            second = try ServiceInstance(database: database, topic: topic, dlqTopic: dlq, groupID: "restart")

            let reader = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    client: KafkaClientConfiguration(bootstrapServers: [LocalStack.kafkaBootstrapServers]),
                    groupID: "restart"))
            let partitions = (0..<8).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }
            try await eventually(.seconds(240), "every offset to be committed", every: .milliseconds(200)) {
                let committed = try await reader.committedOffsets(for: partitions)
                return committed.values.reduce(0) { $0 + Int($1 ?? 0) } == total
            }
            try await first.stop()
            try await second.stop()
            await reader.close()

            #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM inbox") == total)
            #expect(
                try await TestDatabase.count(database, "SELECT count(DISTINCT reminder_id)::int8 FROM reminders")
                    == total)
            #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM reminders") == total)
            #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM reminder_history") == total)
            #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM dead_letters") == 0)
        }
    }
}
