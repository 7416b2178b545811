import ArgumentParser
import Foundation
import Logging
import NotificationService
import ReminderCore
import ReminderStore

/// `erase --user ID`: the same erasure as `DELETE /v1/users/{user_id}`, for operators.
struct EraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Erase one user's personal data (content, addresses, message bytes) from the database.",
        discussion: """
            Cancels the user's reminders that are still to be sent, waits for any send already under way, then
            removes the personal data of their reminders, delivery attempts and dead letters, and records the
            erasure under a hash of the user id. Inbox keys stay, so an old event delivered again is still a
            duplicate. Safe to run again. Records already published to the dead-letter and status topics are
            not reached: they expire with those topics' retention (docs/operations.md).
            """
    )

    @OptionGroup var config: ConfigurationOptions

    @Option(name: .customLong("user"), help: "The user id, as in the events' user_id.")
    var userID: String

    @Option(help: "Seconds to wait for sends under way (default: the dispatch lease and a minute).")
    var wait: Int?

    func validate() throws {
        guard (1...128).contains(userID.unicodeScalars.count) else {
            throw ValidationError("--user: 1 to 128 characters")
        }
        if let wait, wait < 0 { throw ValidationError("--wait: a number of seconds, 0 or more") }
    }

    func run() async throws {
        let (settings, logger) = try config.toolSettings(label: "notification-service.erase")
        let wait = wait.map { Duration.seconds($0) } ?? settings.dispatch.dispatcher.lease + .seconds(60)
        do {
            let record = try await settings.database.withClient(logger: logger) { client in
                try await ServiceAssembly(settings: settings, logger: logger).userEraser(database: client, wait: wait)
                    .erase(userID: userID)
            }
            print(
                """
                erasure \(record.id.lowercasedText) at \(record.at): \(record.remindersCancelled) reminders \
                cancelled, \(record.remindersErased) reminders, \(record.attemptsErased) delivery attempts and \
                \(record.deadLettersErased) dead letters erased
                """)
        } catch let error as UserEraser.StillSending {
            FileHandle.standardError.write(Data("erase: \(error)\n".utf8))
            throw ExitCode(75)
        } catch let error as StoreError {
            FileHandle.standardError.write(Data("erase: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
