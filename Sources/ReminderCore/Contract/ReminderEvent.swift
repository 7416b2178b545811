/// A validated reminder event, version 1 of the contract in
/// `schemas/reminder-event.v1.json`.
public struct ReminderEvent: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Create the reminder, or replace one with the same `reminderID` not yet sent.
        case schedule(ReminderSchedule)
        /// Cancel the reminder named by `reminderID` unless it is already being sent.
        case cancel
    }

    public var idempotencyKey: String
    public var reminderID: String
    public var userID: String
    public var correlationID: String?
    public var action: Action

    public init(idempotencyKey: String, reminderID: String, userID: String, correlationID: String?, action: Action) {
        self.idempotencyKey = idempotencyKey
        self.reminderID = reminderID
        self.userID = userID
        self.correlationID = correlationID
        self.action = action
    }
}

/// What a `schedule` event asks for.
public struct ReminderSchedule: Sendable, Equatable {
    /// The user's IANA time zone (`UTC` when the event names none).
    public var timeZone: String
    public var deliverAt: DeliveryTime
    /// In fallback order; never empty.
    public var channels: [Channel]
    public var content: Content
    public var quietHours: QuietHours?
    public var expiresAt: Instant?
    /// How it repeats; nil for a one-off reminder. A recurring schedule's `deliverAt` is
    /// `.local` (the first occurrence, on the user's wall clock).
    public var recurrence: RecurrenceRule?

    public init(
        timeZone: String, deliverAt: DeliveryTime, channels: [Channel], content: Content, quietHours: QuietHours?,
        expiresAt: Instant?, recurrence: RecurrenceRule? = nil
    ) {
        self.recurrence = recurrence
        self.timeZone = timeZone
        self.deliverAt = deliverAt
        self.channels = channels
        self.content = content
        self.quietHours = quietHours
        self.expiresAt = expiresAt
    }
}

/// When to deliver: an absolute instant, or a wall-clock time in the user's zone.
public enum DeliveryTime: Sendable, Equatable {
    case instant(Instant)
    case local(LocalDateTime)
}

/// A way to reach the user. The values are personal data: never log them.
public enum Channel: Sendable, Equatable {
    case email(to: String)
    case sms(to: String)
    case push(platform: PushPlatform, token: String)
    case webhook(url: String)

    public enum PushPlatform: String, Sendable, Equatable {
        case fcm, apns
    }

    /// The channel's type as the contract names it (safe to log).
    public var type: String {
        switch self {
        case .email: "email"
        case .sms: "sms"
        case .push: "push"
        case .webhook: "webhook"
        }
    }
}

/// The reminder's text. Personal data: never log it.
public struct Content: Sendable, Equatable {
    public var title: String
    public var body: String
    /// `content.data` as compact JSON text, when given.
    public var data: String?
    /// `content.html`: an HTML body for email, sent beside the text body (`body`).
    public var html: String?
    /// `content.unsubscribe_url`: where the recipient unsubscribes (email's
    /// `List-Unsubscribe` header).
    public var unsubscribeURL: String?

    public init(title: String, body: String, data: String?, html: String? = nil, unsubscribeURL: String? = nil) {
        self.title = title
        self.body = body
        self.data = data
        self.html = html
        self.unsubscribeURL = unsubscribeURL
    }
}

/// A daily window in the user's zone in which nothing is delivered; it may cross
/// midnight (start after end).
public struct QuietHours: Sendable, Equatable {
    public var start: LocalTime
    public var end: LocalTime

    public init(start: LocalTime, end: LocalTime) {
        self.start = start
        self.end = end
    }
}
