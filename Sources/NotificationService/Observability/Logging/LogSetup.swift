import Foundation
import Logging

/// Chooses the log format and level from `LOG_FORMAT` (`json`, the default, or `text`)
/// and `LOG_LEVEL` (`trace` … `critical`, default `info`), once, before any logger is
/// made. A bad value stops start-up naming the variable (exit code 78).
public enum LogSetup {
    public struct Choice: Equatable, Sendable {
        public var json: Bool
        public var level: Logger.Level

        public init(json: Bool, level: Logger.Level) {
            self.json = json
            self.level = level
        }
    }

    public static func choice(
        _ environment: [String: String], defaultFormat: String = "json"
    ) throws -> Choice {
        let reader = EnvironmentReader(environment: environment)
        let format = reader.value("LOG_FORMAT", defaultFormat)
        guard ["json", "text"].contains(format) else {
            throw ServiceSettings.Invalid(variable: "LOG_FORMAT", message: "must be json or text, not \"\(format)\"")
        }
        let levelText = reader.value("LOG_LEVEL", "info")
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ServiceSettings.Invalid(
                variable: "LOG_LEVEL",
                message:
                    "must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(levelText)\""
            )
        }
        return Choice(json: format == "json", level: level)
    }

    /// Bootstraps swift-log for the process, or exits naming the bad variable.
    public static func bootstrap(
        _ environment: [String: String] = ProcessInfo.processInfo.environment, defaultFormat: String = "json"
    ) {
        let choice: Choice
        do {
            choice = try self.choice(environment, defaultFormat: defaultFormat)
        } catch {
            FileHandle.standardError.write(Data("configuration error: \(error)\n".utf8))
            exit(78)
        }
        LoggingSystem.bootstrap { label in
            if choice.json { return JSONLogHandler(label: label, level: choice.level) }
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = choice.level
            return handler
        }
    }
}
