/// A validated reminder event, version 1 of the contract in
/// `schemas/reminder-event.v1.json`.
///
/// Its fields live in one shared, immutable box: an event is copied many times on its way
/// to the store (the planner's groups, the inbox's inputs, dead letters), and a copy of
/// the fields themselves retained each of their strings and the schedule's arrays, a few
/// percent of the service's CPU while it ingested (perf, issue 19). A copy of the box
/// retains one reference.
public struct ReminderEvent: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Create the reminder, or replace one with the same `reminderID` not yet sent.
        case schedule(ReminderSchedule)
        /// Cancel the reminder named by `reminderID` unless it is already being sent.
        case cancel
    }

    private struct Fields: Sendable, Equatable {
        let idempotencyKey: String
        let reminderID: String
        let userID: String
        let correlationID: String?
        let action: Action
    }

    private let fields: SharedFields<Fields>

    public var idempotencyKey: String { fields.value.idempotencyKey }
    public var reminderID: String { fields.value.reminderID }
    public var userID: String { fields.value.userID }
    public var correlationID: String? { fields.value.correlationID }
    public var action: Action { fields.value.action }

    public init(idempotencyKey: String, reminderID: String, userID: String, correlationID: String?, action: Action) {
        fields = SharedFields(
            Fields(
                idempotencyKey: idempotencyKey, reminderID: reminderID, userID: userID, correlationID: correlationID,
                action: action))
    }
}

/// What a `schedule` event asks for. Like the event, its fields live in one shared,
/// immutable box: a copy (each time it is read out of its event) retains one reference.
/// What most schedules leave out (an HTML body, an unsubscribe link, quiet hours, an
/// expiry, a rule) is in a second box, absent when all of it is: held inline, those
/// fields made every schedule's box 273 bytes (an allocation of 320), where it is now 152
/// (160), and a lane holds the batch it stores and the next one it decodes (issue 19).
public struct ReminderSchedule: Sendable, Equatable {
    private struct Fields: Sendable, Equatable {
        let timeZone: String
        let deliverAt: DeliveryTime
        let channels: [Channel]
        let title: String
        let body: String
        let data: String?
        let extras: SharedFields<Extras>?
    }

    private struct Extras: Sendable, Equatable {
        let html: String?
        let unsubscribeURL: String?
        let quietHours: QuietHours?
        let expiresAt: Instant?
        let recurrence: RecurrenceRule?
    }

    private let fields: SharedFields<Fields>

    /// The user's IANA time zone (`UTC` when the event names none).
    public var timeZone: String { fields.value.timeZone }
    public var deliverAt: DeliveryTime { fields.value.deliverAt }
    /// In fallback order; never empty.
    public var channels: [Channel] { fields.value.channels }
    public var content: Content {
        let fields = fields.value
        return Content(
            title: fields.title, body: fields.body, data: fields.data, html: fields.extras?.value.html,
            unsubscribeURL: fields.extras?.value.unsubscribeURL)
    }
    public var quietHours: QuietHours? { fields.value.extras?.value.quietHours }
    public var expiresAt: Instant? { fields.value.extras?.value.expiresAt }
    /// How it repeats; nil for a one-off reminder. A recurring schedule's `deliverAt` is
    /// `.local` (the first occurrence, on the user's wall clock).
    public var recurrence: RecurrenceRule? { fields.value.extras?.value.recurrence }

    public init(
        timeZone: String, deliverAt: DeliveryTime, channels: [Channel], content: Content, quietHours: QuietHours?,
        expiresAt: Instant?, recurrence: RecurrenceRule? = nil
    ) {
        let hasExtras =
            content.html != nil || content.unsubscribeURL != nil || quietHours != nil || expiresAt != nil
            || recurrence != nil
        let extras =
            hasExtras
            ? SharedFields(
                Extras(
                    html: content.html, unsubscribeURL: content.unsubscribeURL, quietHours: quietHours,
                    expiresAt: expiresAt, recurrence: recurrence)) : nil
        fields = SharedFields(
            Fields(
                timeZone: timeZone, deliverAt: deliverAt, channels: channels, title: content.title,
                body: content.body, data: content.data, extras: extras))
    }
}

/// A value's fields in one immutable box that copies of the value share: copying it
/// retains one reference instead of each string and array in it. Two boxes are equal when
/// they are the same box or hold equal fields.
final class SharedFields<Value: Sendable & Equatable>: Sendable, Equatable {
    let value: Value

    init(_ value: Value) { self.value = value }

    static func == (lhs: SharedFields, rhs: SharedFields) -> Bool { lhs === rhs || lhs.value == rhs.value }
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
