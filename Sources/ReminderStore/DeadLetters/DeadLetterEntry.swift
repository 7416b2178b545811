import Foundation

/// A dead letter as operators see it (`dlq list`, `GET /v1/dead-letters`): why it failed,
/// where the message came from, and whether it was published and replayed. The original
/// message (which may hold personal data) only when asked for.
public struct DeadLetterEntry: Sendable, Equatable {
    public struct Message: Sendable, Equatable {
        public let key: [UInt8]?
        public let value: [UInt8]?
        public let headers: [IngestRecord.Header]
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
}
