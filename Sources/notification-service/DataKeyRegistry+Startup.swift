import ArgumentParser
import Logging
import ReminderStore

extension DataKeyRegistry {
    /// The start-up check of the data encryption keys against the database: registers the
    /// current key, then refuses (exit status 78, as a bad setting) a database that may
    /// hold rows sealed with a key id that is not configured, naming the id.
    func verifyOrExit(_ sealer: DataSealer?, logger: Logger) async throws {
        let failure: StoreError
        do {
            try await verify(sealer)
            return
        } catch {
            failure = error
        }
        guard failure.code == .configuration else { throw failure }
        logger.critical("invalid configuration", metadata: ["error": .string(failure.message)])
        throw ExitCode(78)
    }
}
