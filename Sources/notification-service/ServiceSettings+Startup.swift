import ArgumentParser
import Foundation
import Logging
import NotificationService

extension ServiceSettings {
    /// The settings from the environment, or exit status 78 (configuration error) after
    /// logging which variable is wrong.
    static func loadOrExit(
        _ environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger
    ) throws -> ServiceSettings {
        do {
            return try fromEnvironment(environment)
        } catch {
            logger.critical("invalid configuration", metadata: ["error": "\(error)"])
            throw ExitCode(78)
        }
    }
}
