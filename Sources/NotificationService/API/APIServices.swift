import Hummingbird
import Kafka
import Logging
import PostgresNIO
import ReminderStore
import ServiceLifecycle

extension ServiceSettings {
    /// The HTTP API of one instance: `pipeline` (nil when this instance does not ingest)
    /// for readiness and consumer lag, `producer` to publish replays (nil when the `/v1`
    /// API is off).
    public func makeAdminAPI(
        database: PostgresClient, pipeline: IngestPipeline?, providers: DeliveryProviders, metrics: ServiceMetrics,
        producer: KafkaProducer?, logger: Logger
    ) -> AdminAPI {
        let lookup = ReminderLookup(client: database, logger: logger)
        return AdminAPI(
            lookup: lookup, deadLetters: DeadLetterStore(client: database, logger: logger),
            replayer: DeadLetterReplayer(producer: producer, topic: remindersTopic),
            readiness: Readiness(lookup: lookup, pipeline: pipeline, grace: api.assignmentGrace),
            scrape: MetricsScrape(
                metrics: metrics, lookup: lookup, pipeline: pipeline, providers: providers.directory.all),
            token: api.token)
    }

    /// The HTTP server as a service: it listens on `HTTP_HOST:HTTP_PORT` and logs the
    /// port it got (`HTTP_PORT=0` takes any free one).
    public func makeHTTPServer(_ api: AdminAPI, logger: Logger) -> HTTPServer {
        let (listening, listened) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let application = Application(
            router: api.router(),
            configuration: ApplicationConfiguration(
                address: .hostname(self.api.host, port: self.api.port), serverName: "notification-service"),
            onServerRunning: { channel in
                logger.info(
                    "http server listening",
                    metadata: [
                        "host": "\(self.api.host)", "port": "\(channel.localAddress?.port ?? self.api.port)",
                        "v1_api": "\(self.api.token == nil ? "off (API_TOKEN not set)" : "on")",
                    ])
                listened.yield()
                listened.finish()
            }, logger: logger)
        return HTTPServer(application: application, host: self.api.host, port: self.api.port, listening: listening)
    }
}
