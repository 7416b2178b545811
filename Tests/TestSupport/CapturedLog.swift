import Foundation
import Logging
import NotificationService
import Synchronization

/// Collects what a `JSONLogHandler` writes.
public final class CapturedLog: Sendable {
    public let lines = Mutex<[String]>([])

    public init() {}

    public var output: JSONLogOutput { JSONLogOutput { line in self.lines.withLock { $0.append(line) } } }

    public func logger(_ label: String, level: Logger.Level = .info) -> Logger {
        let output = self.output
        return Logger(label: label) { label in JSONLogHandler(label: label, level: level, output: output) }
    }

    public var records: [[String: Any]] {
        lines.withLock { $0 }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}
