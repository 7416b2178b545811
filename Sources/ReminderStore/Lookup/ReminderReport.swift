/// A reminder as `GET /v1/reminders/{id}` shows it: where it stands, its history and
/// every channel tried. Channel types only: no addresses, numbers, tokens or content.
public struct ReminderReport: Sendable, Equatable {
    public struct Transition: Sendable, Equatable {
        public let from: String?
        public let to: String
        public let event: String
        public let attempt: Int
        public let errorClass: String?
        public let detail: String?
        /// RFC 3339, UTC.
        public let at: String
        /// The occurrence of a recurring reminder it belongs to.
        public let occurrence: Int?

        public init(
            from: String?, to: String, event: String, attempt: Int, errorClass: String?, detail: String?, at: String,
            occurrence: Int? = nil
        ) {
            self.occurrence = occurrence
            self.from = from
            self.to = to
            self.event = event
            self.attempt = attempt
            self.errorClass = errorClass
            self.detail = detail
            self.at = at
        }
    }

    public struct ChannelAttempt: Sendable, Equatable {
        public let attempt: Int
        public let channelIndex: Int
        public let channel: String
        public let provider: String
        public let outcome: String
        public let errorClass: String?
        public let answer: String
        public let latencyMilliseconds: Double
        public let retryDelayMilliseconds: Int64?
        public let at: String
        public let occurrence: Int?

        public init(
            attempt: Int, channelIndex: Int, channel: String, provider: String, outcome: String, errorClass: String?,
            answer: String, latencyMilliseconds: Double, retryDelayMilliseconds: Int64?, at: String,
            occurrence: Int? = nil
        ) {
            self.occurrence = occurrence
            self.attempt = attempt
            self.channelIndex = channelIndex
            self.channel = channel
            self.provider = provider
            self.outcome = outcome
            self.errorClass = errorClass
            self.answer = answer
            self.latencyMilliseconds = latencyMilliseconds
            self.retryDelayMilliseconds = retryDelayMilliseconds
            self.at = at
        }
    }

    /// A cancel or replace that arrived while an attempt was in flight and waits for its
    /// outcome (no addresses or content: the replacement's due time and channel types).
    public struct Pending: Sendable, Equatable {
        /// `cancel` or `replace`.
        public let change: String
        /// For a replacement: when it would be due, RFC 3339 UTC.
        public let dueAt: String?
        /// For a replacement: its channel types in order.
        public let channels: [String]?

        public init(change: String, dueAt: String?, channels: [String]?) {
            self.change = change
            self.dueAt = dueAt
            self.channels = channels
        }
    }

    public let reminderID: String
    public let userID: String
    public let state: String
    public let timeZone: String
    /// When it may be sent (the delivery time after quiet hours), RFC 3339 UTC.
    public let dueAt: String?
    public let expiresAt: String?
    public let attempts: Int
    public let channels: [String]
    public let correlationID: String?
    /// The trace id of the W3C Trace Context the reminder's event started or continued:
    /// where to look in the tracing backend.
    public let traceID: String?
    public let createdAt: String
    public let updatedAt: String
    public let transitions: [Transition]
    public let channelAttempts: [ChannelAttempt]
    public let pending: Pending?
    /// For a reminder that recurs (or did): its rule and where the series stands.
    public let series: Series?

    /// A recurring reminder's rule (as stored) and occurrences.
    public struct Series: Sendable, Equatable {
        /// The rule as the store keeps it (`StoredDelivery.json(_:)`); nil once a one-off schedule
        /// replaced it.
        public let rule: String?
        /// The first occurrence of the rule, on the user's wall clock (`YYYY-MM-DDTHH:MM:SS`).
        public let start: String?
        /// The current occurrence: the next to be delivered while the reminder waits or is
        /// being sent, the last one once the series has ended.
        public let occurrence: Int
        public let occurrenceLocal: String?

        public init(rule: String?, start: String?, occurrence: Int, occurrenceLocal: String?) {
            self.rule = rule
            self.start = start
            self.occurrence = occurrence
            self.occurrenceLocal = occurrenceLocal
        }
    }

    public init(
        reminderID: String, userID: String, state: String, timeZone: String, dueAt: String?, expiresAt: String?,
        attempts: Int, channels: [String], correlationID: String?, traceID: String?, createdAt: String,
        updatedAt: String, transitions: [Transition], channelAttempts: [ChannelAttempt], pending: Pending? = nil,
        series: Series? = nil
    ) {
        self.series = series
        self.pending = pending
        self.reminderID = reminderID
        self.userID = userID
        self.state = state
        self.timeZone = timeZone
        self.dueAt = dueAt
        self.expiresAt = expiresAt
        self.attempts = attempts
        self.channels = channels
        self.correlationID = correlationID
        self.traceID = traceID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.transitions = transitions
        self.channelAttempts = channelAttempts
    }
}
