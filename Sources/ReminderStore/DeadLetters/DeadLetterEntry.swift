import Foundation

/// A dead letter as operators see it (`dlq list`, `GET /v1/dead-letters`): why it failed,
/// where the message came from, and whether it was published and replayed. The original
/// message (which may hold personal data) only when asked for.
public struct DeadLetterEntry: Sendable, Equatable {
    public struct Message: Sendable, Equatable {
        public let key: [UInt8]?
        public let value: [UInt8]?
        public let headers: [IngestRecord.Header]

        public init(key: [UInt8]?, value: [UInt8]?, headers: [IngestRecord.Header]) {
            self.key = key
            self.value = value
            self.headers = headers
        }
    }

    public let id: UUID
    /// The outbox order; the cursor of a paged list.
    public let sequence: Int64
    public let reason: String
    public let error: String
    public let attempts: Int
    public let originalTopic: String
    public let originalPartition: Int32
    public let originalOffset: Int64
    public let idempotencyKey: String?
    public let correlationID: String?
    /// The publisher's reminder id, for dead letters of a stored reminder.
    public let reminderID: String?
    /// RFC 3339, UTC.
    public let failedAt: String
    public let publishedAt: String?
    /// When ingest applied its first replay; nil if never replayed.
    public let replayedAt: String?
    /// The trace the dead letter continues, if any (no personal data).
    public let trace: TraceContextHeaders?
    public let message: Message?

    public init(
        id: UUID, sequence: Int64, reason: String, error: String, attempts: Int, originalTopic: String,
        originalPartition: Int32, originalOffset: Int64, idempotencyKey: String?, correlationID: String?,
        reminderID: String?, failedAt: String, publishedAt: String?, replayedAt: String?, trace: TraceContextHeaders?,
        message: Message?
    ) {
        self.id = id
        self.sequence = sequence
        self.reason = reason
        self.error = error
        self.attempts = attempts
        self.originalTopic = originalTopic
        self.originalPartition = originalPartition
        self.originalOffset = originalOffset
        self.idempotencyKey = idempotencyKey
        self.correlationID = correlationID
        self.reminderID = reminderID
        self.failedAt = failedAt
        self.publishedAt = publishedAt
        self.replayedAt = replayedAt
        self.trace = trace
        self.message = message
    }
}
