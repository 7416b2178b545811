import ArgumentParser
import Foundation
import Logging
import NotificationService
import ReminderStore

/// Applies the database migrations and exits.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the database migrations that are missing, then exit.",
        discussion: "Uses DATABASE_URL and NOTIFICATION_MIGRATIONS_DIR (default: the repository's migrations folder)."
    )

    @OptionGroup var config: ConfigurationOptions

    func run() async throws {
        let environment = try config.environment()
        LogSetup.bootstrap(environment)
        let logger = Logger(label: "notification-service.migrate")
        let settings = try ServiceSettings.loadOrExit(environment, logger: logger)
        do {
            let migrator = try Migrator(directory: settings.migrations)
            let applied = try await settings.database.withClient(logger: logger) { client in
                try await migrator.migrate(client, logger: logger)
            }
            logger.info("database up to date", metadata: ["applied": "\(applied)"])
        } catch {
            logger.critical("migration failed", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}
