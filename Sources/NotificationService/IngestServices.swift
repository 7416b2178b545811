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

    /// The ingest pipeline and the dead-letter relay of one instance on `database`, with
    /// the consumer the service runs (pre-fetch and read-ahead limits included).
    /// `pipeline` and `relay` default to the settings' configurations.
    public func makeIngestServices(
        database: PostgresClient, pipeline: IngestPipeline.Configuration? = nil,
        relay: DeadLetterRelay.Configuration? = nil, logger: Logger
    ) throws(KafkaError) -> (pipeline: IngestPipeline, relay: DeadLetterRelay) {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: consumerClient, groupID: groupID, sessionTimeout: sessionTimeout,
                maxBufferedMessages: consumerReadAhead),
            logger: logger)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: kafka), logger: logger)
        return (
            IngestPipeline(
                consumer: consumer, store: IngestStore(client: database, logger: logger),
                configuration: pipeline ?? pipelineConfiguration, logger: logger),
            DeadLetterRelay(
                store: DeadLetterStore(client: database, logger: logger), producer: producer,
                configuration: relay ?? relayConfiguration, logger: logger)
        )
    }
}
