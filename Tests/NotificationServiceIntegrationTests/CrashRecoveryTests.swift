import Foundation
import Kafka
import PostgresNIO
import ReminderStore
import TestSupport
import Testing

/// The service as a process: killed with SIGKILL after storing but before committing
/// offsets, then started again.
@Suite(.timeLimit(.minutes(6)))
struct CrashRecoveryTests {
    private func launch(topic: String, group: String, databaseURL: String, commitInterval: Int) throws -> Process {
        try ServeProcess.launch(
            topic: topic, group: group, databaseURL: databaseURL,
            settings: ["INGEST_COMMIT_INTERVAL_MS": String(commitInterval)])
    }

    @Test func aProcessKilledBetweenStoreAndCommitLosesNothingAndDoublesNothing() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: ServeProcess.executable.path), "build the executable first")
        let total = 2_000
        let (topic, _) = try await Topics.make("crash", partitions: 4)
        let group = "crash-\(UUID().uuidString.prefix(8))"
        try await TestDatabase.withDatabase { database, configuration in
            var url = URLComponents(string: LocalStack.databaseURL)!
            url.path = "/" + configuration.database
            let producer = try Topics.producer()
            let messages = (0..<total).map { index in
                var message = GroupRestartTests.event(index)
                message.topic = topic
                return message
            }
            for result in await producer.send(messages) { _ = try result.get() }
            await producer.close()

            // Offsets are committed only once an hour: everything is stored, nothing committed.
            let first = try launch(topic: topic, group: group, databaseURL: url.string!, commitInterval: 3_600_000)
            try await eventually(.seconds(90), "all events to be stored", every: .milliseconds(200)) {
                try await TestDatabase.count(database, "SELECT count(*)::int8 FROM inbox") == total
            }
            let reader = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    client: KafkaClientConfiguration(bootstrapServers: [LocalStack.kafkaBootstrapServers]),
                    groupID: group))
            let partitions = (0..<4).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }
            #expect(try await reader.committedOffsets(for: partitions).values.allSatisfy { $0 == nil })
            kill(first.processIdentifier, SIGKILL)
            try #require(try await first.exitStatus(within: .seconds(60)) != nil, "SIGKILL ends the service")

            // The next run reads everything again and finds it all in the inbox.
            let second = try launch(topic: topic, group: group, databaseURL: url.string!, commitInterval: 200)
            try await eventually(
                .seconds(120), "every offset to be committed after the restart", every: .milliseconds(200)
            ) {
                try await reader.committedOffsets(for: partitions).values.reduce(0) { $0 + Int($1 ?? 0) } == total
            }
            kill(second.processIdentifier, SIGTERM)
            #expect(try await second.exitStatus(within: .seconds(120)) == 0, "SIGTERM ends the service cleanly")
            await reader.close()

            #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM inbox") == total)
            #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM reminders") == total)
            #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM reminder_history") == total)
            #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM dead_letters") == 0)
        }
    }
}
