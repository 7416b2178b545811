import ReminderCore

/// One delivery of a reminder over one of its channels.
public struct DeliveryRequest: Sendable, Equatable {
    /// The publisher's reminder id: also the idempotency key given to providers, so a
    /// send repeated after a crash is recognised by those that support one.
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

    public init(
        reminderID: String, userID: String, correlationID: String?, channel: Channel, content: Content, attempt: Int,
        dueAt: Instant
    ) {
        self.reminderID = reminderID
        self.userID = userID
        self.correlationID = correlationID
        self.channel = channel
        self.content = content
        self.attempt = attempt
        self.dueAt = dueAt
    }
}
