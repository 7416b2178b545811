import Foundation
import Kafka
import Testing

/// Broker faults that the dev broker cannot produce on demand, made deterministic with
/// librdkafka's in-process mock cluster.
@Suite(.timeLimit(.minutes(6)))
struct InjectedFaultTests {
    private static let groupAuthorizationFailed: Int32 = 30

    /// A mock cluster with one topic holding `count` messages, and a consumer that has
    /// read (and marked) all of them.
    private func consumedTopic(
        _ cluster: KafkaMockCluster, count: Int
    ) async throws -> (KafkaConsumer, KafkaTopicPartition) {
        try cluster.createTopic("faults", partitions: 1)
        let client = KafkaClientConfiguration(bootstrapServers: [cluster.bootstrapServers])
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        for result in await producer.send(
            (0..<count).map { KafkaProducerMessage(topic: "faults", key: nil, value: [UInt8($0)]) })
        {
            _ = try result.get()
        }
        await producer.close()
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(client: client, groupID: "faults", sessionTimeout: .seconds(30)))
        try consumer.subscribe(topics: ["faults"])
        _ = try await MessageCollector(consumer).waitForCount(count, within: .seconds(30))
        return (consumer, KafkaTopicPartition(topic: "faults", partition: 0))
    }

    @Test func aRefusedCommitThrowsTheBrokersErrorAndCommitsNothing() async throws {
        let cluster = try KafkaMockCluster()
        let (consumer, partition) = try await consumedTopic(cluster, count: 5)

        cluster.failNext(.offsetCommit, with: [Self.groupAuthorizationFailed])
        let error = await #expect(throws: KafkaError.self) { try await consumer.commitMarked() }
        #expect(error?.name == "GROUP_AUTHORIZATION_FAILED")
        #expect(error?.isRetriable == false)
        #expect(try await consumer.committedOffsets(for: [partition])[partition] == .some(nil))

        // The marks survive the failure: the next commit writes them.
        try await consumer.commitMarked()
        #expect(try await consumer.committedOffsets(for: [partition])[partition] == 5)
        await consumer.close()
    }

    @Test func aBrokerThatStopsAnsweringMidCommitFailsTheCommitInBoundedTimeAndALaterCommitSucceeds()
        async throws
    {
        let cluster = try KafkaMockCluster()
        let (consumer, partition) = try await consumedTopic(cluster, count: 3)

        // Answers 20 s late: a broker that has stopped answering, for a 3 s commit.
        try cluster.setRoundTrip(ofBroker: 1, to: .seconds(20))
        let started = ContinuousClock.now
        let error = await #expect(throws: KafkaError.self) {
            try await consumer.commit([.init(partition, offset: 2)], timeout: .seconds(3))
        }
        // The commit's own timeout ended it, not the broker's late answer. The time is
        // bounded by that answer only: in two CI runs, with the whole suite sharing two
        // cores, this wait took 10.0 and 10.6 s.
        #expect(error?.message.contains("no answer from the group coordinator within") == true)
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(error?.isRetriable == true, "a broker not answering is worth retrying: \(String(describing: error))")

        try cluster.setRoundTrip(ofBroker: 1, to: .zero)
        // The late answers go out now; retry as a caller would until the commit is through.
        var committed = false
        let deadline = ContinuousClock.now + .seconds(30)
        while !committed && ContinuousClock.now < deadline {
            do {
                try await consumer.commit([.init(partition, offset: 3)], timeout: .seconds(3))
                committed = true
            } catch {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(committed)
        #expect(try await consumer.committedOffsets(for: [partition])[partition] == 3)
        await consumer.close()
    }
}
