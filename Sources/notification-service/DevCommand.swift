import ArgumentParser
import Foundation
import Kafka
import Logging

/// Runs against the local broker: makes sure the topics exist, publishes a sample
/// reminder event, and consumes the topic, logging each message it reads and
/// committing as it goes. The ingest pipeline replaces the logging in a later step.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Consume the reminders topic of a local broker and log what arrives.",
        discussion: "Started by scripts/dev.sh, which starts the local broker and database first."
    )

    @Option(help: "Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092).")
    var bootstrapServers: String?

    @Option(help: "Topic to consume.")
    var topic = "reminders"

    @Option(help: "Consumer group id.")
    var group = "notification-service"

    @Option(help: "Partitions of the topic when it is created.")
    var partitions: Int32 = 8

    @Option(help: "Consumer session timeout in seconds. The dev broker holds a group join for about half of it.")
    var sessionTimeout = 6

    @Flag(help: "Do not publish the sample event at start.")
    var noSample = false

    @Option(help: "Stop after this many messages (0: run until interrupted).")
    var maxMessages = 0

    func run() async throws {
        let logger = Logger(label: "notification-service.dev")
        let servers =
            bootstrapServers ?? ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP_SERVERS"] ?? "127.0.0.1:9092"
        let client = KafkaClientConfiguration(bootstrapServers: servers.split(separator: ",").map(String.init))
        logger.info("librdkafka loaded", metadata: ["version": "\(KafkaLibrary.version)"])

        let admin = try KafkaAdmin(configuration: client)
        for name in [topic, "\(topic).dlq"] {
            let created = try await admin.createTopic(name, partitions: partitions)
            logger.info("topic ready", metadata: ["topic": "\(name)", "created": "\(created)"])
        }

        if !noSample {
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
            let report = try await producer.send(
                topic: topic, key: Array("user-42".utf8), value: Array(Self.sampleEvent().utf8),
                headers: [KafkaHeader(key: "correlation-id", value: UUID().uuidString)])
            logger.info(
                "sample event published",
                metadata: ["partition": "\(report.partition)", "offset": "\(report.offset)"])
            await producer.close()
        }

        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: client, groupID: group, sessionTimeout: .seconds(sessionTimeout)),
            logger: logger)
        try consumer.subscribe(topics: [topic])
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) { consumer.requestClose() }
        defer { signals.cancel() }
        let events = Task {
            for await event in consumer.events { logger.info("consumer event", metadata: ["event": "\(event)"]) }
        }
        logger.info("consuming", metadata: ["topic": "\(topic)", "group": "\(group)", "bootstrap": "\(servers)"])

        var count = 0
        var lastCommit = ContinuousClock.now
        for try await message in consumer.messages {
            count += 1
            // Only positions and sizes: a message's content may hold personal data.
            logger.info(
                "message received",
                metadata: [
                    "topic": "\(message.topic)", "partition": "\(message.partition)", "offset": "\(message.offset)",
                    "key_bytes": "\(message.key?.count ?? 0)", "value_bytes": "\(message.value?.count ?? 0)",
                    "correlation_id":
                        "\(message.header("correlation-id").flatMap { $0.value.map { String(decoding: $0, as: UTF8.self) } } ?? "-")",
                ])
            try consumer.markProcessed(message)
            if ContinuousClock.now - lastCommit > .seconds(1) {
                try await consumer.commitMarked()
                lastCommit = .now
            }
            if maxMessages > 0 && count >= maxMessages { break }
        }
        await consumer.close()
        events.cancel()
        logger.info("stopped", metadata: ["messages": "\(count)"])
    }

    static func sampleEvent() -> String {
        let deliverAt = ISO8601DateFormatter().string(from: Date().addingTimeInterval(60))
        return """
            {"schema_version":1,"type":"schedule","idempotency_key":"sample-\(UUID().uuidString)",\
            "reminder_id":"sample-reminder","user_id":"user-42","deliver_at":"\(deliverAt)",\
            "channels":[{"type":"email","to":"someone@example.invalid"}],\
            "content":{"title":"Sample reminder","body":"Sent by notification-service dev"}}
            """
    }
}
