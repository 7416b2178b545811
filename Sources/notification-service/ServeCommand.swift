import ArgumentParser
import Kafka
import Logging
import NotificationService
import ReminderCore
import ReminderStore
import ServiceLifecycle

/// Runs the service: applies migrations, then ingest, the dead-letter relay and the
/// dispatcher until SIGTERM or SIGINT, on which it stops taking work, finishes what is
/// in hand (within SHUTDOWN_TIMEOUT_MS), commits and exits 0.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Consume reminder events, store them once, deliver them when due, and publish dead letters.",
        discussion: """
            Settings come from the environment: KAFKA_BOOTSTRAP_SERVERS, KAFKA_GROUP_ID, KAFKA_CLIENT_ID,
            KAFKA_SESSION_TIMEOUT_MS, REMINDERS_TOPIC, DEAD_LETTER_TOPIC, DATABASE_URL,
            NOTIFICATION_MIGRATIONS_DIR, INGEST_*, DISPATCH_*, RETRY_*, BREAKER_*, the providers' SMTP_*,
            WEBHOOK_*, FCM_*, APNS_*, SMS_* and HTTP_PROVIDER_*, HTTP_ENABLED, HTTP_HOST, HTTP_PORT, API_TOKEN,
            READY_ASSIGNMENT_GRACE_MS, ERASURE_WAIT_MS, RETENTION_* and REMINDERS_TOPIC_RETENTION_DAYS,
            DATA_ENCRYPTION_KEYS (or DATA_ENCRYPTION_KEYS_FILE) and DATA_ENCRYPTION_CURRENT_KEY,
            OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTEL_* of tracing), LOG_FORMAT,
            LOG_LEVEL, SHUTDOWN_TIMEOUT_MS, and librdkafka properties as
            KAFKA_PROPERTY_<NAME> (KAFKA_PROPERTY_SECURITY_PROTOCOL sets security.protocol); docs/configuration.md has the
            table. The same names can be given in a --config file. A bad value stops start-up naming the setting
            (exit status 78).

            HTTP (default 127.0.0.1:8080): /health/live, /health/ready, /metrics, and with API_TOKEN the /v1
            API for reminders, dead letters and erasing a user's data (openapi/openapi.json).
            """
    )

    @Flag(help: "Do not apply database migrations at start.")
    var noMigrate = false

    @OptionGroup var config: ConfigurationOptions

    func run() async throws {
        MemoryTuning.tuneMalloc()
        let environment = try config.environment()
        LogSetup.bootstrap(environment)
        let logger = Logger(label: "notification-service")
        let settings = try ServiceSettings.loadOrExit(environment, logger: logger)
        try await Self.runService(settings: settings, migrate: !noMigrate, logger: logger)
    }

    /// Migrations, then ingest, the dead-letter relay and the dispatcher in one service
    /// group.
    static func runService(settings: ServiceSettings, migrate: Bool, logger: Logger) async throws {
        // Before anything that takes the process's tracer (the providers' HTTP client).
        let tracing: (any Service)?
        do {
            tracing = try TracingBackend.bootstrap(settings.tracing, logger: logger)
        } catch {
            logger.critical(
                "invalid configuration",
                metadata: ["error": "OTEL_*: the trace exporter cannot be set up: \(error)"])
            throw ExitCode(78)
        }
        // Without the tz database every event naming a zone would be dead-lettered as
        // invalid, for good: refuse to start instead.
        let zones = TimeZones.database
        guard zones.zoneCount > 0 else {
            let problem =
                "TZDIR: no tz database in \(zones.directory) (install Debian's tzdata, or set TZDIR to a zoneinfo "
                + "directory)"
            logger.critical("invalid configuration", metadata: ["error": "\(problem)"])
            throw ExitCode(78)
        }
        let database = settings.database.makeClient(logger: logger)
        // Ingest's lanes store on connections of their own, one a lane: a batch's
        // statements carry up to about a megabyte each, and PostgresNIO keeps a
        // connection's buffers at the largest message it carried, so in the shared pool
        // any connection could grow to that.
        let ingestDatabase = settings.ingestEnabled ? settings.ingestDatabase.makeClient(logger: logger) : nil
        let instance: ServiceAssembly.Instance
        do {
            instance = try await ServiceAssembly(settings: settings, logger: logger).instance(
                database: database, ingestDatabase: ingestDatabase)
        } catch let error as ServiceSettings.Invalid {
            // A provider setting that only fails when used (an unreadable CA file).
            logger.critical("invalid configuration", metadata: ["error": "\(error)"])
            throw ExitCode(78)
        }
        let server = instance.server
        logger.info(
            "starting",
            metadata: [
                "kafka": "\(settings.kafka.bootstrapServers.joined(separator: ","))", "group": "\(settings.groupID)",
                "topic": "\(settings.remindersTopic)", "database": "\(settings.database)",
                "ingest": "\(settings.ingestEnabled)", "relay": "\(settings.relayEnabled)",
                "dispatch": "\(settings.dispatch.enabled)", "http": "\(settings.api.enabled)",
                "tracing": "\(settings.tracing)",
                "providers": "\(instance.providerNames.joined(separator: ","))",
                "time_zones": "\(zones.zoneCount) names from \(zones.directory)",
                "tzdata": "names \(zones.namesVersion ?? "unknown"), rules \(zones.rulesVersion)",
                "allocator": "\(Allocator.description)",
            ])
        // Nothing is consumed, migrated or sent before the HTTP server has its port: a
        // port it cannot have stops start-up (exit 78) with no work to wind down.
        let application = ApplicationServices(
            services: instance.work, precondition: { await server?.waitUntilListening() ?? true }
        ) {
            if migrate { try await Migrator(directory: settings.migrations).migrate(database, logger: logger) }
            try await DataKeyRegistry(client: database, logger: logger).verifyOrExit(settings.sealer, logger: logger)
        }
        // Shut down in reverse order: the application first, then the HTTP server (health
        // and metrics answer until the work in hand is done), then the database pools, and
        // last the span exporter, which sends what the others ended.
        var services: [any Service] = tracing.map { [$0] } ?? []
        services.append(database)
        if let ingestDatabase { services.append(ingestDatabase) }
        if let server { services.append(server) }
        services.append(application)
        var configuration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Work in hand gets this long to finish (a send, its record, a batch and its
        // commit); then whatever still waits (for an unreachable database, say) is
        // cancelled: uncommitted offsets are re-read, unrecorded sends re-claimed.
        configuration.maximumGracefulShutdownDuration = settings.shutdownTimeout
        configuration.maximumCancellationDuration = .seconds(10)
        let group = ServiceGroup(configuration: configuration)
        do {
            try await group.run()
        } catch let exit as ExitCode {
            await instance.shutdown()
            throw exit
        } catch let error as HTTPServer.CannotListen {
            logger.critical("invalid configuration", metadata: ["error": "\(error)"])
            await instance.shutdown()
            throw ExitCode(78)
        } catch {
            await instance.shutdown()
            throw error
        }
        await instance.shutdown()
    }
}
