import Foundation
import NIOCore
import PostgresNIO
import ReminderCore

extension DeadLetterStore {
    /// Dead letters matching `filter`, newest first, at most `limit`; `before` is the
    /// sequence of the last entry of the previous page.
    public func list(_ filter: DeadLetterFilter, before: Int64? = nil, limit: Int, includeMessage: Bool = false)
        async throws(StoreError) -> [DeadLetterEntry]
    {
        let ids = filter.ids
        let replayable = DeadLetterReason.allCases.filter(\.isReplayable).map(\.rawValue)
        let query: PostgresQuery = """
            SELECT d.id, d.seq, d.reason, d.error, d.attempts, d.original_topic, d.original_partition,
                d.original_offset, d.idempotency_key, d.correlation_id, r.reminder_id,
                to_char(d.failed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                to_char(d.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                to_char(p.replayed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                CASE WHEN \(includeMessage) THEN d.message_key END, CASE WHEN \(includeMessage) THEN d.message_value END,
                d.message_headers::text, d.trace_parent, d.trace_state, d.sealed_with
            FROM dead_letters d
            LEFT JOIN reminders r ON r.id = d.reminder_id
            LEFT JOIN dead_letter_replays p ON p.dead_letter_id = d.id
            WHERE (\(ids)::uuid[] IS NULL OR d.id = ANY(\(ids)::uuid[]))
              AND (\(filter.reason)::text IS NULL OR d.reason = \(filter.reason)::text)
              AND (\(filter.since)::timestamptz IS NULL OR d.failed_at >= \(filter.since)::timestamptz)
              AND (\(filter.until)::timestamptz IS NULL OR d.failed_at < \(filter.until)::timestamptz)
              AND (NOT \(filter.replayableOnly)
                   OR (p.dead_letter_id IS NULL AND d.reminder_id IS NOT NULL AND d.reason = ANY(\(replayable))))
              AND (\(before)::int8 IS NULL OR d.seq < \(before)::int8)
            ORDER BY d.seq DESC
            LIMIT \(limit)
            """
        do {
            let rows = try await client.query(query, logger: logger)
            var entries: [DeadLetterEntry] = []
            for try await row in rows.decode(
                (
                    UUID, Int64, String, String, Int, String, Int32, Int64, String?, String?, String?, String, String?,
                    String?, ByteBuffer?, ByteBuffer?, String, String?, String?, String?
                ).self)
            {
                let message = DeadLetterEntry.Message(
                    key: try opened(row.14, keyID: row.19, for: .messageKey),
                    value: try opened(row.15, keyID: row.19, for: .message),
                    headers: Self.headers(fromJSON: row.16))
                entries.append(
                    DeadLetterEntry(
                        id: row.0, sequence: row.1, reason: row.2, error: row.3, attempts: row.4, originalTopic: row.5,
                        originalPartition: row.6, originalOffset: row.7, idempotencyKey: row.8, correlationID: row.9,
                        reminderID: row.10, failedAt: row.11, publishedAt: row.12, replayedAt: row.13,
                        trace: TraceContextHeaders(traceParent: row.17, traceState: row.18),
                        message: includeMessage ? message : nil))
            }
            return entries
        } catch {
            throw StoreError.wrapping(error, operation: "list dead letters")
        }
    }

    /// One dead letter with its original message; nil when no dead letter has this id.
    public func find(_ id: UUID) async throws(StoreError) -> DeadLetterEntry? {
        try await list(DeadLetterFilter(ids: [id]), limit: 1, includeMessage: true).first
    }
}
