import ArgumentParser
import Kafka
import Logging
import NotificationService
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
            WEBHOOK_*, FCM_*, APNS_*, SMS_* and HTTP_PROVIDER_*, LOG_FORMAT, LOG_LEVEL, SHUTDOWN_TIMEOUT_MS
            (the README has the table). A bad value stops start-up naming the variable (exit status 78).
            """
    )

    @Flag(help: "Do not apply database migrations at start.")
    var noMigrate = false

    func run() async throws {
        MemoryTuning.tuneMalloc()
        LogSetup.bootstrap()
        let logger = Logger(label: "notification-service")
        let settings = try ServiceSettings.loadOrExit(logger: logger)
        try await Self.runService(settings: settings, migrate: !noMigrate, logger: logger)
    }

    /// Migrations, then ingest, the dead-letter relay and the dispatcher in one service
    /// group.
    static func runService(settings: ServiceSettings, migrate: Bool, logger: Logger) async throws {
        let database = settings.database.makeClient(logger: logger)
        let providers: DeliveryProviders
        do {
            providers = try await DeliveryProviders(settings: settings, logger: logger)
        } catch let error as ServiceSettings.Invalid {
            // A provider setting that only fails when used (an unreadable CA file).
            logger.critical("invalid configuration", metadata: ["error": "\(error)"])
            throw ExitCode(78)
        }
        var services: [any Service] = []
        if settings.relayEnabled {
            services.append(try settings.makeDeadLetterRelay(database: database, logger: logger))
        }
        if settings.ingestEnabled {
            services.append(try settings.makeIngestPipeline(database: database, logger: logger))
        }
        if settings.dispatch.enabled {
            services.append(settings.makeDispatcher(database: database, providers: providers, logger: logger))
        }
        logger.info(
            "starting",
            metadata: [
                "kafka": "\(settings.kafka.bootstrapServers.joined(separator: ","))", "group": "\(settings.groupID)",
                "topic": "\(settings.remindersTopic)", "database": "\(settings.database)",
                "ingest": "\(settings.ingestEnabled)", "relay": "\(settings.relayEnabled)",
                "dispatch": "\(settings.dispatch.enabled)",
                "providers": "\(providers.directory.all.map(\.name).joined(separator: ","))",
            ])
        let application = ApplicationServices(services: services) {
            if migrate { try await Migrator(directory: settings.migrations).migrate(database, logger: logger) }
        }
        // Shut down in reverse order: the application first, then the database pool.
        var configuration = ServiceGroupConfiguration(
            services: [database, application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Work in hand gets this long to finish (a send, its record, a batch and its
        // commit); then whatever still waits (for an unreachable database, say) is
        // cancelled: uncommitted offsets are re-read, unrecorded sends re-claimed.
        configuration.maximumGracefulShutdownDuration = settings.shutdownTimeout
        configuration.maximumCancellationDuration = .seconds(10)
        let group = ServiceGroup(configuration: configuration)
        do {
            try await group.run()
        } catch {
            await providers.shutdown()
            throw error
        }
        await providers.shutdown()
    }
}
