import Kafka
import Logging
import PostgresNIO
import ReminderStore

extension ServiceSettings {
    /// The ingest pipeline's configuration as these settings give it.
    public var pipelineConfiguration: IngestPipeline.Configuration {
        IngestPipeline.Configuration(
            topic: remindersTopic, batchSize: batchSize, linger: linger, lanes: lanes, commitInterval: commitInterval)
    }

    /// The dead-letter relay's configuration as these settings give it.
    public var relayConfiguration: DeadLetterRelay.Configuration {
        DeadLetterRelay.Configuration(topic: deadLetterTopic)
    }

    /// The ingest pipeline of one instance on `database`, with the consumer the service
    /// runs (pre-fetch and read-ahead limits included).
    public func makeIngestPipeline(
        database: PostgresClient, configuration: IngestPipeline.Configuration? = nil, logger: Logger,
        metrics: ServiceMetrics = ServiceMetrics()
    ) throws(KafkaError) -> IngestPipeline {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: consumerClient, groupID: groupID, sessionTimeout: sessionTimeout,
                maxBufferedMessages: consumerReadAhead),
            logger: logger)
        return IngestPipeline(
            consumer: consumer, store: IngestStore(client: database, logger: logger),
            configuration: configuration ?? pipelineConfiguration, logger: logger, metrics: metrics)
    }

    /// The dead-letter relay of one instance on `database`.
    public func makeDeadLetterRelay(
        database: PostgresClient, configuration: DeadLetterRelay.Configuration? = nil, logger: Logger,
        metrics: ServiceMetrics = ServiceMetrics()
    ) throws(KafkaError) -> DeadLetterRelay {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: kafka), logger: logger)
        return DeadLetterRelay(
            store: DeadLetterStore(client: database, logger: logger), producer: producer,
            configuration: configuration ?? relayConfiguration, logger: logger, metrics: metrics)
    }

    /// The ingest pipeline and the dead-letter relay of one instance on `database`.
    /// `pipeline` and `relay` default to the settings' configurations.
    public func makeIngestServices(
        database: PostgresClient, pipeline: IngestPipeline.Configuration? = nil,
        relay: DeadLetterRelay.Configuration? = nil, logger: Logger
    ) throws(KafkaError) -> (pipeline: IngestPipeline, relay: DeadLetterRelay) {
        (
            try makeIngestPipeline(database: database, configuration: pipeline, logger: logger),
            try makeDeadLetterRelay(database: database, configuration: relay, logger: logger)
        )
    }
}
