import Foundation
import Kafka
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(6)))
struct RoundTripTests {
    @Test func keysHeadersBinaryValuesAndTombstonesSurviveARoundTrip() async throws {
        let topic = try await TestBroker.makeTopic("roundtrip", partitions: 3)
        let everyByte = (0...255).map(UInt8.init)
        let sent: [KafkaProducerMessage] = [
            KafkaProducerMessage(
                topic: topic, partition: 0, key: Array("user-1".utf8), value: everyByte,
                headers: [
                    KafkaHeader(key: "x-correlation-id", value: "c-1"),
                    KafkaHeader(key: "x-binary", value: [0, 255, 10, 13]),
                    KafkaHeader(key: "x-empty", value: nil),
                    KafkaHeader(key: "x-correlation-id", value: "repeated"),
                ]),
            KafkaProducerMessage(topic: topic, partition: 1, key: Array("user-2".utf8), value: nil),
            KafkaProducerMessage(topic: topic, partition: 2, key: nil, value: Array("no key".utf8)),
            KafkaProducerMessage(topic: topic, partition: 2, key: nil, value: nil),
            KafkaProducerMessage(topic: topic, partition: 1, key: [], value: []),
        ]
        let producer = try TestBroker.producer()
        let reports = try await producer.send(sent).map { try $0.get() }
        await producer.close()
        #expect(reports.map(\.partition) == [0, 1, 2, 2, 1])

        let consumer = try KafkaConsumer(
            configuration: TestBroker.consumerConfiguration(group: TestBroker.uniqueGroup("roundtrip")))
        try consumer.subscribe(topics: [topic])
        let received = try await MessageCollector(consumer).waitForCount(sent.count)
        await consumer.close()

        for (message, report) in zip(sent, reports) {
            let match = received.first { $0.partition == report.partition && $0.offset == report.offset }
            #expect(match != nil, "the delivery report's position \(report) is where the consumer reads it")
            #expect(match?.topic == topic)
            #expect(match?.key == message.key || (message.key == [] && match?.key == nil))
            #expect(match?.value == message.value || (message.value == [] && match?.value == nil))
            #expect(match?.headers == message.headers)
            #expect(match?.timestamp?.kind == .createTime)
        }
    }

    @Test func singleSendsReportIncreasingOffsetsInOnePartition() async throws {
        let topic = try await TestBroker.makeTopic("single", partitions: 1)
        let producer = try TestBroker.producer()
        var offsets: [Int64] = []
        for index in 0..<5 {
            let report = try await producer.send(topic: topic, key: nil, value: Array("m\(index)".utf8))
            offsets.append(report.offset)
        }
        await producer.close()
        #expect(offsets == Array(offsets[0]..<(offsets[0] + 5)))
    }

    @Test func pausedPartitionsDeliverNothingUntilResumed() async throws {
        let topic = try await TestBroker.makeTopic("pause", partitions: 1)
        let consumer = try KafkaConsumer(
            configuration: TestBroker.consumerConfiguration(group: TestBroker.uniqueGroup("pause")))
        try consumer.subscribe(topics: [topic])
        let seen = MessageCollector(consumer)
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        try await eventually(.seconds(60), "the assignment") { try consumer.assignment() == [partition] }
        try consumer.pause([partition])

        let producer = try TestBroker.producer()
        try await producer.send(topic: topic, key: nil, value: Array("while paused".utf8))
        try await Task.sleep(for: .seconds(2))
        #expect(seen.messages.isEmpty)

        try consumer.resume([partition])
        #expect(try await seen.waitForCount(1, within: .seconds(30)).first?.value == Array("while paused".utf8))
        await producer.close()
        await consumer.close()
    }
}
