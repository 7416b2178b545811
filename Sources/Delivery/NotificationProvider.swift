import ReminderCore

/// Sends one reminder over one channel. Every provider classifies its failures as
/// transient (worth a retry later) or permanent (move to the next channel), bounds each
/// send by a timeout, and passes the reminder id as idempotency key where its protocol
/// has one.
public protocol NotificationProvider: Sendable {
    /// Names the provider in records, logs and metrics ("smtp", "webhook", "fcm", …).
    var name: String { get }

    /// Delivers `request`, or throws why not.
    func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt
}

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

/// A provider's acceptance of a reminder.
public struct DeliveryReceipt: Sendable, Equatable {
    /// The provider's answer, without personal data ("HTTP 200", "250 2.0.0").
    public var answer: String
    /// The provider's id of the message, when it gives one.
    public var providerMessageID: String?

    public init(answer: String, providerMessageID: String? = nil) {
        self.answer = answer
        self.providerMessageID = providerMessageID
    }
}

/// Why a send failed, classified for the dispatcher.
public struct DeliveryFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// Might work later: retry with backoff.
        case transient
        /// Will not work on this channel: fall back to the next one.
        case permanent
    }

    public var kind: Kind
    /// A short label for records and metrics: `http_503`, `timeout`, `connection`,
    /// `smtp_550`, `unregistered`, `circuit_open`, `invalid_request`.
    public var errorClass: String
    /// The provider's answer or the local error, without personal data.
    public var answer: String
    /// How long the provider asked us to wait (`Retry-After`), if it did.
    public var retryAfter: Duration?

    public init(_ kind: Kind, errorClass: String, answer: String, retryAfter: Duration? = nil) {
        self.kind = kind
        self.errorClass = errorClass
        self.answer = answer
        self.retryAfter = retryAfter
    }

    public static func transient(_ errorClass: String, _ answer: String, retryAfter: Duration? = nil) -> Self {
        Self(.transient, errorClass: errorClass, answer: answer, retryAfter: retryAfter)
    }

    public static func permanent(_ errorClass: String, _ answer: String) -> Self {
        Self(.permanent, errorClass: errorClass, answer: answer)
    }

    public var description: String { "\(kind.rawValue) failure \(errorClass): \(answer)" }
}
