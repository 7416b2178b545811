import ArgumentParser
import Foundation
import Kafka
import Logging
import NotificationService

/// The embedded default, for trying the service out: makes sure the topics exist,
/// publishes sample events (a valid reminder due in five seconds and an invalid one),
/// then runs the service as `serve` does, so both can be followed through the logs, the
/// database, the mail server and the dead-letter topic.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Create the topics, publish sample events, and serve (for local development).",
        discussion: "Started by scripts/dev.sh, which starts the local broker and database and sets the environment."
    )

    @Option(help: "Partitions of the topics when they are created.")
    var partitions: Int32 = 8

    @Flag(help: "Do not publish the sample events.")
    var noSample = false

    func run() async throws {
        MemoryTuning.tuneMalloc()
        // Text by default: a person reads these logs.
        LogSetup.bootstrap(defaultFormat: "text")
        let logger = Logger(label: "notification-service.dev")
        var environment = ProcessInfo.processInfo.environment
        if environment["KAFKA_SESSION_TIMEOUT_MS", default: ""].isEmpty {
            // The dev broker holds a group join for about half the session timeout.
            environment["KAFKA_SESSION_TIMEOUT_MS"] = "6000"
        }
        let settings = try ServiceSettings.loadOrExit(environment, logger: logger)
        logger.info("librdkafka loaded", metadata: ["version": "\(KafkaLibrary.version)"])
        let admin = try KafkaAdmin(configuration: settings.kafka)
        for name in [settings.remindersTopic, settings.deadLetterTopic] {
            let created = try await admin.createTopic(name, partitions: partitions)
            logger.info("topic ready", metadata: ["topic": "\(name)", "created": "\(created)"])
        }
        if !noSample {
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: settings.kafka))
            for (label, event) in [("valid", Self.sampleEvent()), ("invalid", Self.invalidSampleEvent())] {
                let report = try await producer.send(
                    topic: settings.remindersTopic, key: Array("user-42".utf8), value: Array(event.utf8))
                logger.info(
                    "sample event published",
                    metadata: ["kind": "\(label)", "partition": "\(report.partition)", "offset": "\(report.offset)"])
            }
            await producer.close()
        }
        try await ServeCommand.runService(settings: settings, migrate: true, logger: logger)
    }

    static func sampleEvent() -> String {
        let deliverAt = ISO8601DateFormatter().string(from: Date().addingTimeInterval(5))
        return """
            {"schema_version":1,"type":"schedule","idempotency_key":"sample-\(UUID().uuidString)",\
            "reminder_id":"sample-\(UUID().uuidString.prefix(8))","user_id":"user-42","timezone":"Europe/Berlin",\
            "deliver_at":"\(deliverAt)","channels":[{"type":"email","to":"someone@example.invalid"}],\
            "content":{"title":"Sample reminder","body":"Sent by notification-service dev"},\
            "correlation_id":"sample-\(UUID().uuidString.prefix(8))"}
            """
    }

    /// Misses its channels: it goes to the dead-letter topic with reason invalid_event.
    static func invalidSampleEvent() -> String {
        """
        {"schema_version":1,"type":"schedule","idempotency_key":"sample-invalid-\(UUID().uuidString)",\
        "reminder_id":"sample-invalid","user_id":"user-42","deliver_at":"2030-01-01T09:00:00Z",\
        "content":{"title":"No channels","body":"This one is dead-lettered"}}
        """
    }
}
