import Delivery
import Hummingbird
import Kafka
import Logging
import PostgresNIO
import ReminderStore
import ServiceLifecycle

/// The composition root: builds the service's parts from its settings, which stay plain
/// data. `serve` asks it for the whole instance; tests and tools for single parts.
public struct ServiceAssembly: Sendable {
    public let settings: ServiceSettings
    public let logger: Logger
    public let metrics: ServiceMetrics

    public init(settings: ServiceSettings, logger: Logger, metrics: ServiceMetrics = ServiceMetrics()) {
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
    }

    /// What one instance runs, as the settings enable it.
    public struct Instance: Sendable {
        /// Ingest, the dead-letter and status relays and the dispatcher, as enabled.
        public let work: [any Service]
        /// nil when HTTP is off.
        public let server: HTTPServer?
        /// Publishes replays asked for through the API; closed by `shutdown()`.
        let replayProducer: KafkaProducer?
        let providers: DeliveryProviders

        /// The configured providers' names, for the start-up log.
        public var providerNames: [String] { providers.directory.all.map(\.name) }

        /// Ends what the service group does not run: the replay producer and the
        /// providers' connections.
        public func shutdown() async {
            await replayProducer?.close()
            await providers.shutdown()
        }
    }

    /// Every part of one instance on `database`. Throws `ServiceSettings.Invalid` for a
    /// provider setting that fails only when used (an unreadable CA file), and
    /// `KafkaError` when a Kafka client cannot be created.
    /// `ingestDatabase`: the pool ingest's lanes store their batches on (nil: `database`).
    public func instance(database: PostgresClient, ingestDatabase: PostgresClient? = nil) async throws -> Instance {
        let providers = try await DeliveryProviders(
            settings: settings, logger: logger, rateLimits: RateLimitStore(client: database, logger: logger))
        var work: [any Service] = []
        // New reminders' status records go from ingest to this instance's status relay.
        let handOff = settings.statusRelayEnabled && settings.ingestEnabled ? statusHandOff() : nil
        if settings.relayEnabled { work.append(try deadLetterRelay(database: database)) }
        if settings.statusRelayEnabled { work.append(try statusRelay(database: database, handOff: handOff)) }
        var pipeline: IngestPipeline<ContinuousClock>?
        if settings.ingestEnabled {
            let ingest = try ingestPipeline(database: ingestDatabase ?? database, statusHandOff: handOff)
            work.append(ingest)
            pipeline = ingest
        }
        if settings.dispatch.enabled { work.append(dispatcher(database: database, providers: providers)) }
        if settings.retention.enabled { work.append(retentionPruner(database: database)) }
        // Replays published through the API; the relay's producer is its own.
        let replayProducer =
            settings.api.enabled && settings.api.token != nil
            ? try KafkaProducer(
                configuration: KafkaProducerConfiguration(client: settings.kafka, messageTimeout: .seconds(15)),
                logger: logger) : nil
        let server =
            settings.api.enabled
            ? httpServer(
                adminAPI(database: database, pipeline: pipeline, providers: providers, producer: replayProducer))
            : nil
        return Instance(work: work, server: server, replayProducer: replayProducer, providers: providers)
    }

    /// The ingest pipeline on `database`, with the consumer the service runs (pre-fetch
    /// and read-ahead limits included); `configuration` defaults to the settings'.
    /// `statusHandOff`: where it hands new reminders' status records to the status relay.
    public func ingestPipeline(
        database: PostgresClient, configuration: IngestPipeline.Configuration? = nil,
        statusHandOff: StatusHandOff? = nil
    ) throws(KafkaError) -> IngestPipeline<ContinuousClock> {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: settings.consumerClient, groupID: settings.groupID, sessionTimeout: settings.sessionTimeout,
                maxBufferedMessages: settings.consumerReadAhead, maxBufferedBytes: settings.consumerReadAheadBytes),
            logger: logger)
        return IngestPipeline(
            source: consumer,
            store: IngestStore(
                client: database, logger: logger, statusEvents: settings.statusEvents, sealer: settings.sealer,
                statusHandOff: statusHandOff),
            configuration: configuration ?? settings.pipelineConfiguration, logger: logger, metrics: metrics)
    }

    /// The dead-letter relay on `database`; `configuration` defaults to the settings'.
    public func deadLetterRelay(database: PostgresClient, configuration: DeadLetterRelay.Configuration? = nil)
        throws(KafkaError) -> DeadLetterRelay<ContinuousClock>
    {
        let configuration = configuration ?? settings.relayConfiguration
        return DeadLetterRelay(
            store: DeadLetterStore(client: database, logger: logger, sealer: settings.sealer),
            producer: try relayProducer(messageTimeout: configuration.publishTimeout),
            configuration: configuration, logger: logger, metrics: metrics)
    }

    /// A hand-off from ingest to the status relay: four of the relay's batches.
    public func statusHandOff() -> StatusHandOff {
        StatusHandOff(capacity: 4 * settings.statusRelayConfiguration.batchSize)
    }

    /// The status relay on `database`; `configuration` defaults to the settings'.
    /// `handOff`: what its instance's ingest hands over.
    public func statusRelay(
        database: PostgresClient, configuration: StatusRelay.Configuration? = nil, handOff: StatusHandOff? = nil
    ) throws(KafkaError) -> StatusRelay<ContinuousClock> {
        let configuration = configuration ?? settings.statusRelayConfiguration
        return StatusRelay(
            store: StatusEventStore(
                client: database, logger: logger, keepPublished: settings.retention.keepsPublishedStatusEvents),
            producer: try relayProducer(messageTimeout: configuration.publishTimeout),
            configuration: configuration, logger: logger, metrics: metrics, clock: ContinuousClock(), handOff: handOff)
    }

    /// A relay's own producer: idempotent, acknowledged by every in-sync replica, a
    /// message given up after `messageTimeout`.
    private func relayProducer(messageTimeout: Duration) throws(KafkaError) -> KafkaProducer {
        try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: settings.kafka, messageTimeout: messageTimeout),
            logger: logger)
    }

    /// The dispatcher on `database`, sending through `providers`; `configuration`
    /// defaults to the settings'.
    public func dispatcher(
        database: PostgresClient, providers: DeliveryProviders, configuration: Dispatcher.Configuration? = nil
    ) -> Dispatcher<ContinuousClock> {
        Dispatcher(
            store: DispatchStore(
                client: database, logger: logger, statusEvents: settings.statusEvents, sealer: settings.sealer),
            deliverer: ReminderDeliverer(providers: providers.directory), wakeups: settings.database,
            configuration: configuration ?? settings.dispatch.dispatcher, logger: logger, metrics: metrics)
    }

    /// The retention pruner on `database`.
    public func retentionPruner(database: PostgresClient) -> RetentionPruner<ContinuousClock> {
        RetentionPruner(
            store: RetentionStore(client: database, logger: logger), settings: settings.retention, logger: logger,
            metrics: metrics, clock: ContinuousClock())
    }

    /// Erasure of a user's data on `database`, waiting up to `wait` for sends under way.
    public func userEraser(database: PostgresClient, wait: Duration) -> UserEraser {
        UserEraser(
            store: ErasureStore(client: database, logger: logger, statusEvents: settings.statusEvents), wait: wait,
            logger: logger)
    }

    /// The HTTP API: `pipeline` (nil when this instance does not ingest) for readiness and
    /// consumer lag, `producer` to publish replays (nil when the `/v1` API is off).
    public func adminAPI(
        database: PostgresClient, pipeline: IngestPipeline<ContinuousClock>?, providers: DeliveryProviders,
        producer: KafkaProducer?
    ) -> AdminAPI {
        let lookup = ReminderLookup(client: database, logger: logger)
        return AdminAPI(
            lookup: lookup, deadLetters: DeadLetterStore(client: database, logger: logger, sealer: settings.sealer),
            replayer: DeadLetterReplayer(producer: producer, topic: settings.remindersTopic),
            readiness: Readiness(lookup: lookup, pipeline: pipeline, grace: settings.api.assignmentGrace),
            scrape: MetricsScrape(
                metrics: metrics, lookup: lookup, pipeline: pipeline, providers: providers.directory.all),
            token: settings.api.token, eraser: userEraser(database: database, wait: settings.api.erasureWait))
    }

    /// The HTTP server as a service: it listens on `HTTP_HOST:HTTP_PORT` and logs the
    /// port it got (`HTTP_PORT=0` takes any free one).
    public func httpServer(_ api: AdminAPI) -> HTTPServer {
        let (listening, listened) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let settings = self.settings.api
        let logger = self.logger
        let application = Application(
            router: api.router(),
            configuration: ApplicationConfiguration(
                address: .hostname(settings.host, port: settings.port), serverName: "notification-service"),
            onServerRunning: { channel in
                logger.info(
                    "http server listening",
                    metadata: [
                        "host": "\(settings.host)", "port": "\(channel.localAddress?.port ?? settings.port)",
                        "v1_api": "\(settings.token == nil ? "off (API_TOKEN not set)" : "on")",
                    ])
                listened.yield()
                listened.finish()
            }, logger: logger)
        return HTTPServer(application: application, host: settings.host, port: settings.port, listening: listening)
    }
}
