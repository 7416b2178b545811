import Logging
import ReminderCore
import ReminderStore

/// Erases one user's personal data, for `DELETE /v1/users/{user_id}` and
/// `notification-service erase`: first nothing more is sent to them (reminders still to
/// be sent are cancelled; a send already under way cannot be stopped, so the erasure
/// waits for its outcome), then the data of their finished reminders and dead letters is
/// removed and the erasure recorded (`ErasureStore`). Idempotent: asked again, it
/// finishes what a timed-out request started and removes nothing twice.
public struct UserEraser: Sendable {
    /// Sends to the user were still under way when the wait ran out. Their reminders are
    /// cancelled already; asking again finishes the erasure once the sends have ended.
    public struct StillSending: Error, CustomStringConvertible {
        public let reminders: Int
        public var description: String {
            "\(reminders) of the user's reminders are still being sent; their cancel waits for the send's outcome. "
                + "Ask again to finish the erasure."
        }
    }

    /// A user id the contract could not have given (1–128 characters).
    public struct InvalidUserID: Error, CustomStringConvertible {
        public var description: String { "a user id is 1 to 128 characters" }
    }

    let store: ErasureStore
    /// How long to wait for sends under way before giving up with `StillSending`.
    let wait: Duration
    let logger: Logger

    public init(store: ErasureStore, wait: Duration, logger: Logger) {
        self.store = store
        self.wait = wait
        self.logger = logger
    }

    public func erase(userID: String) async throws -> ErasureStore.Record {
        guard (1...128).contains(userID.unicodeScalars.count) else { throw InvalidUserID() }
        let stopped = try await store.stopSending(userID: userID)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: wait)
        while true {
            let sending = try await store.inFlight(userID: userID)
            if sending == 0 { break }
            guard clock.now < deadline else {
                logger.warning(
                    "erasure waits for sends under way", metadata: ["reminders_sending": "\(sending)"])
                throw StillSending(reminders: sending)
            }
            try await clock.sleep(for: .milliseconds(100))
        }
        let record = try await store.erase(userID: userID, cancelled: stopped.cancelled)
        // No user id here: the record names the erasure, the database keeps its hash.
        logger.notice(
            "user data erased",
            metadata: [
                "erasure_id": "\(record.id.lowercasedText)",
                "reminders_cancelled": "\(record.remindersCancelled)",
                "reminders_erased": "\(record.remindersErased)",
                "attempts_erased": "\(record.attemptsErased)",
                "dead_letters_erased": "\(record.deadLettersErased)",
            ])
        return record
    }
}
