import Foundation
import Kafka
import NotificationService
import PostgresNIO
import ReminderStore
import TestSupport
import Testing

/// PostgreSQL out of reach for 15 seconds in the middle of a stream: the pipeline pauses,
/// retries, commits nothing it has not stored, and resumes; nothing is lost or doubled.
@Suite(.timeLimit(.minutes(6)))
struct DatabaseOutageTests {
    /// A proxy in front of the test PostgreSQL that can be cut or frozen, and restored.
    final class Proxy: @unchecked Sendable {
        let process: Process
        let port: Int

        init(targetPort: Int) async throws {
            let (process, line) = try await PythonScript.start("tcp_proxy.py", [String(targetPort)])
            self.process = process
            port = Int(line) ?? 0
        }

        func cut() { kill(process.processIdentifier, SIGUSR1) }
        /// Connections stay open, but nothing more passes either way.
        func freeze() { kill(process.processIdentifier, SIGHUP) }
        func restore() { kill(process.processIdentifier, SIGUSR2) }

        deinit {
            process.terminate()
        }
    }

    @Test func aFifteenSecondOutageMidStreamLosesNothingAndDoublesNothing() async throws {
        let (topic, dlq) = try await Topics.make("outage", partitions: 4)
        try await TestDatabase.withDatabase { database, configuration in
            let proxy = try await Proxy(targetPort: configuration.port)
            try #require(proxy.port > 0)
            var viaProxy = configuration
            viaProxy.port = proxy.port
            try await TestDatabase.withClient(viaProxy) { proxied in
                let producer = try Topics.producer()
                func publish(_ range: Range<Int>) async throws {
                    let messages = range.map { index in
                        var message = GroupRestartTests.event(index)
                        message.topic = topic
                        return message
                    }
                    for result in await producer.send(messages) { _ = try result.get() }
                }
                let reader = try KafkaConsumer(
                    configuration: KafkaConsumerConfiguration(
                        client: KafkaClientConfiguration(bootstrapServers: [LocalStack.kafkaBootstrapServers]),
                        groupID: "outage"))
                let partitions = (0..<4).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }
                func committed() async throws -> Int {
                    try await reader.committedOffsets(for: partitions).values.reduce(0) { $0 + Int($1 ?? 0) }
                }

                try await publish(0..<1_000)
                let instance = try ServiceInstance(
                    database: proxied, topic: topic, dlqTopic: dlq, groupID: "outage", storeTimeout: .seconds(3))
                do {
                    try await eventually(.seconds(120), "the first 1,000 to be committed", every: .milliseconds(200)) {
                        try await committed() == 1_000
                    }

                    proxy.cut()
                    try await publish(1_000..<2_000)
                    try await Task.sleep(for: .seconds(15))
                    // Nothing was stored through the cut proxy, and nothing committed for it.
                    let storedDuringOutage = try await TestDatabase.count(database, "SELECT count(*)::int8 FROM inbox")
                    let committedDuringOutage = try await committed()
                    #expect(storedDuringOutage == 1_000)
                    #expect(committedDuringOutage == 1_000)

                    proxy.restore()
                    try await publish(2_000..<3_000)
                    try await eventually(
                        .seconds(90), "all 3,000 to be committed after the outage", every: .milliseconds(200)
                    ) {
                        try await committed() == 3_000
                    }
                } catch {
                    // A failure mid-way leaves the instance running on the proxied client:
                    // stopped here (the proxy restored), the test reports it instead of
                    // waiting for ever on the client's shutdown.
                    proxy.restore()
                    try? await instance.stop()
                    await reader.close()
                    await producer.close()
                    throw error
                }
                try await instance.stop()
                await reader.close()
                await producer.close()
                #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM inbox") == 3_000)
                #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM reminders") == 3_000)
                #expect(
                    try await TestDatabase.count(database, "SELECT count(*)::int8 FROM reminder_history") == 3_000)
                #expect(try await TestDatabase.count(database, "SELECT count(*)::int8 FROM dead_letters") == 0)
            }
        }
    }
}
