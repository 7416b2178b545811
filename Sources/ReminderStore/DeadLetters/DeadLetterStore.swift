import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The dead-letter outbox as the relay sees it: records not yet published, and marking
/// them published once the broker has acknowledged them.
public struct DeadLetterStore: Sendable {
    /// A dead letter with everything its Kafka record needs.
    public struct Record: Sendable, Equatable {
        public let id: UUID
        public let reason: String
        public let error: String
        public let attempts: Int
        public let originalTopic: String
        public let originalPartition: Int32
        public let originalOffset: Int64
        public let key: [UInt8]?
        public let value: [UInt8]?
        /// The original message's headers, as stored.
        public let headers: [IngestRecord.Header]
        public let idempotencyKey: String?
        public let correlationID: String?
        /// RFC 3339, UTC.
        public let failedAt: String
        /// The trace the dead letter continues (its event's, or its reminder's).
        public let trace: TraceContextHeaders?

        public init(
            id: UUID, reason: String, error: String, attempts: Int, originalTopic: String, originalPartition: Int32,
            originalOffset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [IngestRecord.Header],
            idempotencyKey: String?, correlationID: String?, failedAt: String, trace: TraceContextHeaders?
        ) {
            self.id = id
            self.reason = reason
            self.error = error
            self.attempts = attempts
            self.originalTopic = originalTopic
            self.originalPartition = originalPartition
            self.originalOffset = originalOffset
            self.key = key
            self.value = value
            self.headers = headers
            self.idempotencyKey = idempotencyKey
            self.correlationID = correlationID
            self.failedAt = failedAt
            self.trace = trace
        }
    }

    let client: PostgresClient
    let logger: Logger
    /// Opens the sealed messages it reads (`DATA_ENCRYPTION_KEYS`).
    let sealer: DataSealer?

    public init(client: PostgresClient, logger: Logger, sealer: DataSealer? = nil) {
        self.client = client
        self.logger = logger
        self.sealer = sealer
    }

    /// The oldest unpublished records, up to `limit`.
    public func unpublished(limit: Int) async throws(StoreError) -> [Record] {
        do {
            let rows = try await client.query(
                """
                SELECT id, reason, error, attempts, original_topic, original_partition, original_offset,
                    message_key, message_value, message_headers::text, idempotency_key, correlation_id,
                    to_char(failed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), trace_parent, trace_state,
                    sealed_with
                FROM dead_letters WHERE published_at IS NULL ORDER BY seq LIMIT \(limit)
                """, logger: logger)
            var records: [Record] = []
            for try await row in rows.decode(
                (
                    UUID, String, String, Int, String, Int32, Int64, ByteBuffer?, ByteBuffer?, String, String?, String?,
                    String, String?, String?, String?
                )
                .self)
            {
                records.append(
                    Record(
                        id: row.0, reason: row.1, error: row.2, attempts: row.3, originalTopic: row.4,
                        originalPartition: row.5, originalOffset: row.6,
                        key: try opened(row.7, keyID: row.15, for: .messageKey),
                        value: try opened(row.8, keyID: row.15, for: .message), headers: Self.headers(fromJSON: row.9),
                        idempotencyKey: row.10, correlationID: row.11, failedAt: row.12,
                        trace: TraceContextHeaders(traceParent: row.13, traceState: row.14)))
            }
            return records
        } catch {
            throw StoreError.wrapping(error, operation: "read unpublished dead letters")
        }
    }

    public func markPublished(_ ids: [UUID]) async throws(StoreError) {
        guard !ids.isEmpty else { return }
        do {
            try await client.query(
                "UPDATE dead_letters SET published_at = now() WHERE id = ANY(\(ids)) AND published_at IS NULL",
                logger: logger)
        } catch {
            throw StoreError.wrapping(error, operation: "mark \(ids.count) dead letters published")
        }
    }

    /// The dead-letter outbox's lease (migration 0016), one relay at a time (`OutboxLease`).
    public var outboxLease: OutboxLeaseStore {
        OutboxLeaseStore(client: client, logger: logger, outbox: "dead_letters")
    }

    /// A stored message key or value: opened when sealed (with `keyID`).
    func opened(_ stored: ByteBuffer?, keyID: String?, for purpose: DataSealer.Purpose) throws(StoreError)
        -> [UInt8]?
    {
        guard let stored else { return nil }
        return try DataSealer.read(Array(stored.readableBytesView), keyID: keyID, for: purpose, with: sealer)
    }

    static func headers(fromJSON text: String) -> [IngestRecord.Header] {
        guard let data = text.data(using: .utf8),
            let items = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        else { return [] }
        return items.compactMap { item in
            guard let key = item["key"] as? String else { return nil }
            let value = (item["value"] as? String).flatMap { Data(base64Encoded: $0) }.map { Array($0) }
            return IngestRecord.Header(key: key, value: value)
        }
    }
}
