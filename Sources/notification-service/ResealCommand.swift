import ArgumentParser
import Logging
import NotificationService
import ReminderStore

/// Seals with the current key the rows sealed with another one, and the plaintext rows:
/// the step of a key rotation between making a new key current and removing the old one
/// (docs/operations.md).
struct ResealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reseal",
        abstract: "Seal again with the current data encryption key every row sealed with another key, or not sealed.",
        discussion: """
            Uses DATABASE_URL, DATA_ENCRYPTION_KEYS (or DATA_ENCRYPTION_KEYS_FILE) and DATA_ENCRYPTION_CURRENT_KEY: \
            every key that rows may be sealed with must be configured. Goes through reminders, pending \
            replacements and dead letters in small batches; safe while serve runs (a row changed meanwhile is \
            left as its writer made it) and idempotent. At the end it forgets the key ids no row is sealed with \
            any more, so that they can be removed from the settings, and prints what it did.
            """
    )

    @OptionGroup var config: ConfigurationOptions

    @Option(help: "Rows per statement.")
    var batchSize: Int = 500

    func run() async throws {
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size: 1...10000") }
        let (settings, logger) = try config.toolSettings(label: "notification-service.reseal")
        guard let sealer = settings.sealer else {
            logger.critical(
                "invalid configuration", metadata: ["error": "DATA_ENCRYPTION_KEYS: must be set for reseal"])
            throw ExitCode(78)
        }
        let (counts, removed) = try await settings.database.withClient(logger: logger) { client in
            try await DataKeyRegistry(client: client, logger: logger).verifyOrExit(sealer, logger: logger)
            let counts = try await DataResealer(client: client, sealer: sealer, logger: logger, batchSize: batchSize)
                .run()
            let removed = try await DataKeyRegistry(client: client, logger: logger).prune(keeping: sealer.currentKeyID)
            return (counts, removed)
        }
        print("resealed with key \(sealer.currentKeyID): \(counts)")
        print("key ids no longer used: \(removed.isEmpty ? "none" : removed.joined(separator: ","))")
        if counts.unreadable > 0 || counts.changedMeanwhile > 0 {
            print("some rows were left as they were: run reseal again (the log names unreadable ones)")
        }
    }
}
