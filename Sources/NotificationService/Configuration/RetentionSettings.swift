import ReminderStore

/// How long the database keeps what it no longer needs, and which instances prune it.
public struct RetentionSettings: Sendable, Equatable {
    /// Whether this instance takes part in pruning (one instance prunes at a time).
    public var enabled: Bool
    public var policy: RetentionStore.Policy
    /// How often a pruning round runs.
    public var interval: Duration
    /// Whether published status records stay in the outbox until retention deletes them
    /// (`RETENTION_STATUS_EVENTS_DAYS` above 0, or `forever`); at 0 the relay deletes
    /// each one once the broker has acknowledged it.
    public var keepsPublishedStatusEvents: Bool { policy.statusEvents != .zero }

    static let day = Duration.seconds(86_400)

    init(_ reader: EnvironmentReader) throws {
        enabled = try reader.flag("RETENTION_ENABLED", true)
        let reminders = try Self.days(reader, "RETENTION_REMINDERS_DAYS", 30)
        let deadLetters = try Self.days(reader, "RETENTION_DEAD_LETTERS_DAYS", 30)
        // 0 (the default): the relay deletes each status record once the broker has it.
        let statusEvents = try Self.days(reader, "RETENTION_STATUS_EVENTS_DAYS", 0, allowingZero: true)
        let inbox = try Self.days(reader, "RETENTION_INBOX_DAYS", 30)
        // A key pruned while the topic still holds its event lets that event, consumed
        // again (a group reset to the earliest offset, a new group), create its reminder
        // a second time: the inbox outlasts the topic.
        let topic = try Self.days(reader, "REMINDERS_TOPIC_RETENTION_DAYS", 7)
        switch (inbox, topic) {
        case (let inbox?, let topic?) where inbox < topic:
            throw ServiceSettings.Invalid(
                variable: "RETENTION_INBOX_DAYS",
                message:
                    "must not be shorter than REMINDERS_TOPIC_RETENTION_DAYS (\(Self.text(topic))): an event the topic "
                    + "can still redeliver after its key is pruned would create its reminder again")
        case (_?, nil):
            throw ServiceSettings.Invalid(
                variable: "RETENTION_INBOX_DAYS",
                message:
                    "must be \"forever\" while REMINDERS_TOPIC_RETENTION_DAYS is: the topic can redeliver any event, "
                    + "and a pruned key would let it create its reminder again")
        default:
            break
        }
        let mode = reader.value("RETENTION_MODE", "delete")
        guard ["delete", "redact"].contains(mode) else {
            throw ServiceSettings.Invalid(
                variable: "RETENTION_MODE", message: "must be delete or redact, not \"\(mode)\"")
        }
        policy = RetentionStore.Policy(
            reminders: reminders, deadLetters: deadLetters, inbox: inbox, statusEvents: statusEvents,
            keepHistory: mode == "redact", batchSize: try reader.count("RETENTION_BATCH_SIZE", 1_000, 1...100_000),
            statementTimeout: try reader.milliseconds("RETENTION_STATEMENT_TIMEOUT_MS", 5_000, 100...600_000))
        interval = try reader.milliseconds("RETENTION_INTERVAL_MS", 60_000, 100...86_400_000)
    }

    /// A number of days (fractions allowed: `0.01` is 864 seconds), or `forever`;
    /// `allowingZero`: 0 too.
    static func days(_ reader: EnvironmentReader, _ name: String, _ fallback: Int, allowingZero: Bool = false) throws
        -> Duration?
    {
        let text = reader.value(name, String(fallback))
        if text == "forever" { return nil }
        guard let days = Double(text), days.isFinite, days >= 0.00001 || (allowingZero && days == 0), days <= 36_500
        else {
            let range = allowingZero ? "0 or 0.00001...36500" : "0.00001...36500"
            throw ServiceSettings.Invalid(
                variable: name, message: "must be a number of days in \(range), or forever, not \"\(text)\"")
        }
        return .milliseconds(Int64((days * 86_400_000).rounded()))
    }

    /// `days` as a setting would say it.
    static func text(_ duration: Duration) -> String {
        let days = Double(duration.wholeMilliseconds) / 86_400_000
        return days == days.rounded() ? "\(Int(days)) days" : "\(days) days"
    }
}
