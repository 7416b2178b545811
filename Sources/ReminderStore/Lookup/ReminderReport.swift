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
}
