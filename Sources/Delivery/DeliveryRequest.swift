import ReminderCore

/// One delivery of a reminder over one of its channels.
public struct DeliveryRequest: Sendable, Equatable {
    /// The publisher's reminder id: the idempotency key given to providers derives from it
    /// (`idempotencyKey`), so a send repeated after a crash is recognised by those that
    /// support one.
    public var reminderID: String
    public var userID: String
    public var correlationID: String?
    /// Personal data (address, number, token, URL): never logged.
    public var channel: Channel
    /// Personal data: never logged.
    public var content: Content
    /// The reminder's delivery attempt, starting at 1.
    public var attempt: Int
    /// When the reminder was due (sent along to webhooks).
    public var dueAt: Instant
    /// The occurrence of a recurring reminder (nil for one that never recurred).
    public var occurrence: Int?

    /// The key providers deduplicate on: the reminder id, and for a recurring reminder
    /// `<reminder id>#<occurrence>`, so that each occurrence is delivered once and the
    /// next one is not taken for a repeat of the last.
    public var idempotencyKey: String {
        occurrence.map { "\(reminderID)#\($0)" } ?? reminderID
    }

    public init(
        reminderID: String, userID: String, correlationID: String?, channel: Channel, content: Content, attempt: Int,
        dueAt: Instant, occurrence: Int? = nil
    ) {
        self.occurrence = occurrence
        self.reminderID = reminderID
        self.userID = userID
        self.correlationID = correlationID
        self.channel = channel
        self.content = content
        self.attempt = attempt
        self.dueAt = dueAt
    }
}
