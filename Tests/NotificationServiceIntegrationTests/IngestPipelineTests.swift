import Foundation
import Kafka
import NotificationService
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(6)))
struct IngestPipelineTests {
    private func event(key: String, reminder: String = "r-1", user: String = "user-1") -> [UInt8] {
        Array(
            """
            {"schema_version":1,"type":"schedule","idempotency_key":"\(key)","reminder_id":"\(reminder)",\
            "user_id":"\(user)","deliver_at":"2030-01-01T09:00:00Z","channels":[{"type":"email","to":"a@b.co"}],\
            "content":{"title":"T","body":"B"}}
            """.utf8)
    }

    @Test func oneKeyPublished1000TimesAcrossPartitionsBatchesAndARestartIsStoredOnce() async throws {
        let (topic, dlq) = try await Topics.make("dedupe", partitions: 8)
        try await TestDatabase.withDatabase { database, _ in
            let producer = try Topics.producer()
            let value = event(key: "the-one-key")
            func publish(_ range: Range<Int>) async throws {
                let messages = range.map {
                    KafkaProducerMessage(
                        topic: topic, partition: Int32($0 % 8), key: Array("user-1".utf8), value: value)
                }
                for result in await producer.send(messages) { _ = try result.get() }
            }
            try await publish(0..<500)
            let first = try ServiceInstance(database: database, topic: topic, dlqTopic: dlq, groupID: "dedupe")
            try await eventually(.seconds(60), "the first 500 to be read", every: .milliseconds(200)) {
                try await TestDatabase.count(database, "SELECT count(*)::int8 FROM inbox") == 1
            }
            try await Task.sleep(for: .seconds(1))
            try await first.stop()

            try await publish(500..<1000)
            let second = try ServiceInstance(database: database, topic: topic, dlqTopic: dlq, groupID: "dedupe")
            let reader = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    client: KafkaClientConfiguration(bootstrapServers: [LocalStack.kafkaBootstrapServers]),
                    groupID: "dedupe"))
            let partitions = (0..<8).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }
            try await eventually(.seconds(90), "all 1000 offsets to be committed", every: .milliseconds(200)) {
                let committed = try await reader.committedOffsets(for: partitions)
                return committed.values.reduce(0) { $0 + Int($1 ?? 0) } == 1000
            }
            try await second.stop()
            await reader.close()
            await producer.close()

            #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM inbox") == 1)
            #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM reminders") == 1)
            #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM reminder_history") == 1)
            #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM dead_letters") == 0)
        }
    }

    @Test func everyKindOfInvalidInputLandsInTheDeadLetterTopicAndConsumptionGoesOn() async throws {
        let (topic, dlq) = try await Topics.make("invalid", partitions: 2)
        try await TestDatabase.withDatabase { database, _ in
            let producer = try Topics.producer()
            var messages = EventFixtures.invalidOnes.map {
                KafkaProducerMessage(topic: topic, partition: 0, key: Array("user-1".utf8), value: $0.bytes)
            }
            messages.append(KafkaProducerMessage(topic: topic, partition: 0, key: nil, value: event(key: "no-key")))
            messages.append(
                KafkaProducerMessage(topic: topic, partition: 0, key: Array("user-1".utf8), value: event(key: "after")))
            for result in await producer.send(messages) { _ = try result.get() }
            let expectedFields = EventFixtures.invalidOnes.map { $0.invalidField! } + ["(message key)"]

            let instance = try ServiceInstance(database: database, topic: topic, dlqTopic: dlq, groupID: "invalid")
            let reader = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    client: KafkaClientConfiguration(
                        bootstrapServers: [LocalStack.kafkaBootstrapServers],
                        properties: ["fetch.max.bytes": "10000000"]),
                    groupID: "dlq-reader-\(UUID())", sessionTimeout: .seconds(6)))
            try reader.subscribe(topics: [dlq])
            var letters: [KafkaMessage] = []
            for try await message in reader.messages {
                letters.append(message)
                if letters.count == expectedFields.count { break }
            }
            try await eventually(
                .seconds(30), "the valid event after the invalid ones to be stored", every: .milliseconds(200)
            ) {
                try await TestDatabase.count(database, "SELECT count(*)::int8 FROM reminders") == 1
            }
            try await instance.stop()
            await reader.close()
            await producer.close()

            let byOffset = Dictionary(
                uniqueKeysWithValues: letters.map { letter in
                    (Int(String(decoding: letter.header("x-original-offset")!.value!, as: UTF8.self))!, letter)
                })
            for (offset, field) in expectedFields.enumerated() {
                let letter = try #require(byOffset[offset], "dead letter for offset \(offset)")
                let header = { (name: String) in letter.header(name)?.value.map { String(decoding: $0, as: UTF8.self) }
                }
                #expect(header("x-dlq-reason") == "invalid_event")
                #expect(
                    header("x-dlq-error")?.hasPrefix(field) == true, "offset \(offset): \(header("x-dlq-error") ?? "-")"
                )
                #expect(header("x-original-topic") == topic)
                #expect(header("x-dlq-id")?.count == 36)
                if letter.header("x-dlq-value-omitted") != nil {
                    #expect(
                        (messages[offset].value?.count ?? 0) > 1_000_000,
                        "only a value too large for the topic is left out")
                } else {
                    #expect(letter.value == messages[offset].value, "the original bytes, unchanged")
                }
                #expect(letter.key == messages[offset].key)
            }
            #expect(
                try await TestDatabase.count(
                    database, "SELECT count(*)::int8 FROM dead_letters WHERE published_at IS NULL") == 0)
        }
    }
}
