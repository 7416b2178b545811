import Foundation
import Kafka
import Logging
import NotificationService
import PostgresNIO
import ReminderStore
import ServiceLifecycle
import TestSupport

/// The ingest pipeline and the dead-letter and status relays of one service instance, run in a
/// service group against the test broker and a test database, as `serve` runs them.
final class ServiceInstance: Sendable {
    let group: ServiceGroup
    let task: Task<Void, any Error>

    /// - Parameters:
    ///   - storeTimeout: short in the outage test, so that it sees partitions paused quickly.
    ///   - settings: added to the environment the settings are read from.
    init(
        database: PostgresClient, topic: String, dlqTopic: String, groupID: String,
        storeTimeout: Duration = .seconds(10), settings extra: [String: String] = [:]
    ) throws {
        var logger = Logger(label: "instance")
        logger.logLevel = .info
        // The settings `serve` would read, with short intervals for the tests.
        let settings = try ServiceSettings.fromEnvironment(
            [
                "KAFKA_BOOTSTRAP_SERVERS": LocalStack.kafkaBootstrapServers, "DATABASE_URL": LocalStack.databaseURL,
                "KAFKA_GROUP_ID": groupID, "KAFKA_SESSION_TIMEOUT_MS": "6000", "REMINDERS_TOPIC": topic,
                "DEAD_LETTER_TOPIC": dlqTopic, "INGEST_COMMIT_INTERVAL_MS": "200",
                "NOTIFICATION_MIGRATIONS_DIR": TestDatabase.migrations.path,
            ].merging(extra) { $1 })
        var pipelineConfiguration = settings.pipelineConfiguration
        pipelineConfiguration.storeTimeout = storeTimeout
        var relayConfiguration = settings.relayConfiguration
        relayConfiguration.idleInterval = .milliseconds(100)
        var statusConfiguration = settings.statusRelayConfiguration
        statusConfiguration.idleInterval = .milliseconds(100)
        let assembly = ServiceAssembly(settings: settings, logger: logger)
        // As `serve` wires them: new reminders' status records go from ingest to the relay.
        let handOff = assembly.statusHandOff()
        let pipeline = try assembly.ingestPipeline(
            database: database, configuration: pipelineConfiguration, statusHandOff: handOff)
        let relay = try assembly.deadLetterRelay(database: database, configuration: relayConfiguration)
        let statusRelay = try assembly.statusRelay(
            database: database, configuration: statusConfiguration, handOff: handOff)
        group = ServiceGroup(services: [relay, statusRelay, pipeline], logger: logger)
        let group = self.group
        task = Task { try await group.run() }
    }

    /// Graceful shutdown, as on SIGTERM: waits until every service has stopped.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}

enum Topics {
    static func make(_ prefix: String, partitions: Int32) async throws -> (String, String) {
        let admin = try KafkaAdmin(
            configuration: KafkaClientConfiguration(
                bootstrapServers: LocalStack.kafkaBootstrapServers.split(separator: ",").map(String.init)))
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        try await admin.createTopic(name, partitions: partitions)
        try await admin.createTopic(name + ".dlq", partitions: partitions)
        try await admin.createTopic(name + ".status", partitions: partitions)
        return (name, name + ".dlq")
    }

    /// A consumer of `topic` in a group of its own, from the topic's start.
    static func reader(of topic: String) throws -> KafkaConsumer {
        let reader = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: KafkaClientConfiguration(bootstrapServers: [LocalStack.kafkaBootstrapServers]),
                groupID: "reader-\(UUID())", sessionTimeout: .seconds(6)))
        try reader.subscribe(topics: [topic])
        return reader
    }

    static func producer() throws -> KafkaProducer {
        try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                client: KafkaClientConfiguration(
                    bootstrapServers: LocalStack.kafkaBootstrapServers.split(separator: ",").map(String.init),
                    properties: ["message.max.bytes": "4000000"])))
    }
}
