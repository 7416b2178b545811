import Foundation
import Logging
import ReminderCore

/// Writes each log record as one JSON object on one line (`ts`, `level`, `label`,
/// `message`, then the metadata: correlation id, reminder id, partition, offset where
/// they apply), for log collectors. What goes into metadata is the callers' duty: the
/// service never logs an address, a number, a token or a reminder's text.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: JSONLogOutput

    public init(label: String, level: Logger.Level = .info, output: JSONLogOutput = .standardOutput) {
        self.label = label
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line: [UInt8] = []
        line.reserveCapacity(320)
        line += #"{"ts":""#.utf8
        Self.appendTimestamp(to: &line)
        line += #"","level":""#.utf8
        line += event.level.rawValue.utf8
        line += #"","label":"#.utf8
        JSONValue.append(string: label, to: &line)
        line += #","message":"#.utf8
        JSONValue.append(string: "\(event.message)", to: &line)
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for key in merged.keys.sorted() where !Self.ownKeys.contains(key) {
            JSONValue.append(member: key, to: &line)
            Self.append(merged[key]!, to: &line)
        }
        line += "}\n".utf8
        output.write(line)
    }

    /// The members every record has, which metadata cannot replace.
    private static let ownKeys: Set<String> = ["ts", "level", "label", "message"]

    /// A metadata value as JSON: strings as strings, arrays as arrays, dictionaries as
    /// objects with their keys sorted.
    static func append(_ value: Logger.MetadataValue, to line: inout [UInt8]) {
        switch value {
        case .string(let text): JSONValue.append(string: text, to: &line)
        case .stringConvertible(let convertible): JSONValue.append(string: convertible.description, to: &line)
        case .array(let items):
            line.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                append(item, to: &line)
            }
            line.append(UInt8(ascii: "]"))
        case .dictionary(let entries):
            line.append(UInt8(ascii: "{"))
            for (index, key) in entries.keys.sorted().enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                JSONValue.append(string: key, to: &line)
                line.append(UInt8(ascii: ":"))
                append(entries[key]!, to: &line)
            }
            line.append(UInt8(ascii: "}"))
        }
    }

    /// Now, RFC 3339 in UTC with milliseconds (`2026-12-05T21:40:00.123Z`).
    static func appendTimestamp(to line: inout [UInt8]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = time_t(now.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int32, _ width: Int) {
            var divisor: Int32 = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                line.append(UInt8(ascii: "0") + UInt8((value / divisor) % 10))
                divisor /= 10
            }
        }
        digits(parts.tm_year + 1900, 4)
        line.append(UInt8(ascii: "-"))
        digits(parts.tm_mon + 1, 2)
        line.append(UInt8(ascii: "-"))
        digits(parts.tm_mday, 2)
        line.append(UInt8(ascii: "T"))
        digits(parts.tm_hour, 2)
        line.append(UInt8(ascii: ":"))
        digits(parts.tm_min, 2)
        line.append(UInt8(ascii: ":"))
        digits(parts.tm_sec, 2)
        line.append(UInt8(ascii: "."))
        digits(Int32(now.tv_nsec / 1_000_000), 3)
        line.append(UInt8(ascii: "Z"))
    }
}
