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

    @OptionGroup var config: ConfigurationOptions

    /// The topics' settings, the same as docker-compose.yml's `kafka-topics` gives them;
    /// docs/operations.md, "Topics", says why: a week of `reminders` to replay after an outage, a
    /// month of `reminders.dlq` for a person to act on, deleted (not compacted) after that.
    /// Tansu, the dev broker, accepts both at creation; a broker that refused them would
    /// fail `dev` with its answer, which is better than topics that quietly differ.
    static let remindersTopicConfig = ["retention.ms": "604800000", "cleanup.policy": "delete"]
    static let deadLetterTopicConfig = ["retention.ms": "2592000000", "cleanup.policy": "delete"]
    /// A week of `reminders.status`, as long as `reminders`: a publisher's consumer that was
    /// away for an outage catches up.
    static let statusTopicConfig = ["retention.ms": "604800000", "cleanup.policy": "delete"]

    func run() async throws {
        MemoryTuning.tuneMalloc()
        var environment = try config.environment()
        // Text by default: a person reads these logs.
        LogSetup.bootstrap(environment, defaultFormat: "text")
        let logger = Logger(label: "notification-service.dev")
        if environment["KAFKA_SESSION_TIMEOUT_MS", default: ""].isEmpty {
            // The dev broker holds a group join for about half the session timeout.
            environment["KAFKA_SESSION_TIMEOUT_MS"] = "6000"
        }
        let settings = try ServiceSettings.loadOrExit(environment, logger: logger)
        logger.info("librdkafka loaded", metadata: ["version": "\(KafkaLibrary.version)"])
        let admin = try KafkaAdmin(configuration: settings.kafka)
        for (name, topicConfig) in [
            (settings.remindersTopic, Self.remindersTopicConfig),
            (settings.deadLetterTopic, Self.deadLetterTopicConfig),
            (settings.statusTopic, Self.statusTopicConfig),
        ] {
            let created = try await admin.createTopic(name, partitions: partitions, config: topicConfig)
            logger.info("topic ready", metadata: ["topic": "\(name)", "created": "\(created)"])
        }
        if !noSample {
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: settings.kafka))
            for (label, event) in [("valid", SampleEvents.reminder()), ("invalid", SampleEvents.invalid())] {
                let report = try await producer.send(
                    topic: settings.remindersTopic, key: Array(SampleEvents.userID.utf8), value: Array(event.utf8))
                logger.info(
                    "sample event published",
                    metadata: ["kind": "\(label)", "partition": "\(report.partition)", "offset": "\(report.offset)"])
            }
            await producer.close()
        }
        try await ServeCommand.runService(settings: settings, migrate: true, logger: logger)
    }
}
