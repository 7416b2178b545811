import ArgumentParser
import Foundation
import Logging
import NotificationService

/// `--config FILE`, shared by the commands that read settings.
struct ConfigurationOptions: ParsableArguments {
    @Option(
        name: .customLong("config"),
        help: ArgumentHelp(
            "A settings file: NAME=value lines with the environment variables' names (default: $NOTIFICATION_CONFIG). "
                + "The environment wins over the file.", valueName: "file"))
    var file: String?

    /// The environment over the file's settings. Read before logging is set up (the file
    /// may set LOG_FORMAT): a bad file is reported on standard error, exit status 78.
    func environment() throws -> [String: String] {
        let environment = ProcessInfo.processInfo.environment
        guard let path = file ?? environment["NOTIFICATION_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            return environment
        }
        do {
            // An empty variable means unset here as everywhere: it does not hide the file's value.
            return try ConfigurationFile.load(path).merging(environment.filter { !$0.value.isEmpty }) { $1 }
        } catch {
            FileHandle.standardError.write(Data("configuration error: \(error)\n".utf8))
            throw ExitCode(78)
        }
    }

    /// For the operator's commands (`dlq`, `publish`): the settings, logging set up as text
    /// and quiet (warnings only) unless LOG_LEVEL asks otherwise, and a logger; exit 78 on
    /// a bad setting.
    func toolSettings(label: String) throws -> (ServiceSettings, Logger) {
        let environment = try environment()
        LogSetup.bootstrap(environment, defaultFormat: "text")
        var logger = Logger(label: label)
        if environment["LOG_LEVEL", default: ""].isEmpty { logger.logLevel = .warning }
        return (try ServiceSettings.loadOrExit(environment, logger: logger), logger)
    }
}
