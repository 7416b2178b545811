import ArgumentParser
import Logging
import NotificationService

extension ServiceSettings {
    /// The settings from the environment, or exit status 78 (configuration error) after
    /// logging which variable is wrong.
    static func loadOrExit(logger: Logger) throws -> ServiceSettings {
        do {
            return try fromEnvironment()
        } catch {
            logger.critical("invalid configuration", metadata: ["error": "\(error)"])
            throw ExitCode(78)
        }
    }
}
