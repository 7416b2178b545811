import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The status outbox as the status relay sees it: the records not published yet, in the
/// order they were written, and marking them published once the broker has acknowledged
/// them. The stores write the records in the transaction of the state change they
/// describe (`status_events`, migration 0009).
public struct StatusEventStore: Sendable {
    /// One record of `schemas/reminder-status.v1.json`, as stored.
    public struct Record: Sendable, Equatable {
        public let id: UUID
        /// Orders the records of one reminder (and of the whole outbox).
        public let sequence: Int64
        /// `StatusUpdate.Kind`'s raw value.
        public let type: String
        public let reminderID: String
        public let userID: String
        public let correlationID: String?
        /// The occurrence of a recurring reminder; nil for a one-off.
        public let occurrence: Int?
        /// The delivery attempt of the occurrence it reports (0 before any).
        public let attempt: Int
        public let channel: String?
        public let provider: String?
        public let willRetry: Bool?
        /// RFC 3339, UTC.
        public let dueAt: String?
        public let reason: String?
        public let error: String?
        public let detail: String?
        /// When the change was recorded; RFC 3339, UTC.
        public let at: String

        public init(
            id: UUID, sequence: Int64, type: String, reminderID: String, userID: String, correlationID: String?,
            occurrence: Int?, attempt: Int, channel: String?, provider: String?, willRetry: Bool?, dueAt: String?,
            reason: String?, error: String?, detail: String?, at: String
        ) {
            self.id = id
            self.sequence = sequence
            self.type = type
            self.reminderID = reminderID
            self.userID = userID
            self.correlationID = correlationID
            self.occurrence = occurrence
            self.attempt = attempt
            self.channel = channel
            self.provider = provider
            self.willRetry = willRetry
            self.dueAt = dueAt
            self.reason = reason
            self.error = error
            self.detail = detail
            self.at = at
        }
    }

    let client: PostgresClient
    let logger: Logger
    /// Where the next scan starts (shared by copies of this store: one relay's scans).
    private let scanFloor = ScanFloorBox()
    /// Whether a published record is kept (in `published_status_events`, for retention to
    /// delete after `RETENTION_STATUS_EVENTS_DAYS`) instead of deleted once acknowledged.
    let keepPublished: Bool

    /// `keepPublished`: false deletes each record once the broker has it (the topic is
    /// its copy); true moves it to `published_status_events` for retention.
    public init(client: PostgresClient, logger: Logger, keepPublished: Bool = false) {
        self.client = client
        self.logger = logger
        self.keepPublished = keepPublished
    }

    /// Timestamps as the contract writes them.
    static func utc(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    }

    /// The oldest unpublished records, up to `limit`, in outbox order. The scan starts
    /// after the records known to be published (`OutboxScanFloor`).
    public func unpublished(limit: Int) async throws(StoreError) -> [Record] {
        do {
            let start = scanFloor.state.withLock { $0.scanStart }
            var binds = PostgresBindings(capacity: 2)
            binds.append(Int64(limit))
            binds.append(start)
            var records: [Record] = []
            records.reserveCapacity(limit)
            var snapshot: (xmin: Int64, xmax: Int64)?
            try await client.execute(UnpublishedStatement.self, binds, logger: logger) { row in
                var cells = RowCells(row)
                snapshot = (try cells.next(), try cells.next())
                // No record: the snapshot's row alone.
                let id: UUID? = try cells.next()
                guard let id else { return }
                let sequence: Int64 = try cells.next(), type: String = try cells.next()
                let reminderID: String = try cells.next(), userID: String = try cells.next()
                let correlationID: String? = try cells.next(), occurrence: Int32? = try cells.next()
                let attempt: Int32 = try cells.next(), channel: String? = try cells.next()
                let provider: String? = try cells.next(), willRetry: Bool? = try cells.next()
                let dueAt: String? = try cells.next(), reason: String? = try cells.next()
                let error: String? = try cells.next(), detail: String? = try cells.next(), at: String = try cells.next()
                records.append(
                    Record(
                        id: id, sequence: sequence, type: type, reminderID: reminderID, userID: userID,
                        correlationID: correlationID, occurrence: occurrence.map(Int.init), attempt: Int(attempt),
                        channel: channel, provider: provider, willRetry: willRetry, dueAt: dueAt, reason: reason,
                        error: error, detail: detail, at: at))
            }
            if let snapshot {
                scanFloor.state.withLock {
                    $0.scanned(
                        from: start, sequences: records.map(\.sequence), xmin: snapshot.xmin, xmax: snapshot.xmax)
                }
            }
            return records
        } catch {
            throw StoreError.wrapping(error, operation: "read unpublished status events")
        }
    }

    /// The status outbox's lease (migration 0015), one relay at a time (`OutboxLease`).
    public var outboxLease: OutboxLeaseStore {
        OutboxLeaseStore(client: client, logger: logger, outbox: "status_events")
    }

    /// Where the next scan starts (for tests).
    var scanStart: Int64 { scanFloor.state.withLock { $0.scanStart } }

    /// The highest sequence any scan has read.
    public var scannedThrough: Int64 { scanFloor.state.withLock { $0.scannedThrough } }

    /// Marks the records with these sequence numbers published: deletes them, or moves
    /// them to `published_status_events` (with the time) when published records are
    /// kept, so that the outbox holds only what is still to be published and needs no
    /// index but its key (migration 0018). Records already published or gone are left
    /// alone. `handedOff`: they came from ingest's hand-off, not a scan (the scan floor
    /// learns of them).
    public func markPublished(_ sequences: [Int64], handedOff: Bool) async throws(StoreError) {
        guard !sequences.isEmpty else { return }
        do {
            var binds = PostgresBindings(capacity: 1)
            binds.append(sequences)
            if keepPublished {
                try await client.execute(MarkPublishedStatement.self, binds, logger: logger)
            } else {
                try await client.execute(DeletePublishedStatement.self, binds, logger: logger)
            }
        } catch {
            throw StoreError.wrapping(error, operation: "mark \(sequences.count) status events published")
        }
        if handedOff { scanFloor.state.withLock { $0.handedOff(published: sequences) } }
    }
}

extension StatusEventStore {
    /// The relay's statements, prepared once per connection (`PreparedSQL`). The read:
    /// the snapshot's oldest running and next transaction ids with each record after
    /// `$2` (with none, one row of the ids and NULLs).
    enum UnpublishedStatement: PreparedSQL {
        static let name = preparedName(sql)
        static let sql = """
            SELECT pg_snapshot_xmin(s.snapshot)::text::int8, pg_snapshot_xmax(s.snapshot)::text::int8,
                e.id, e.seq, e.type, e.reminder_id, e.user_id, e.correlation_id, e.occurrence, e.attempt, e.channel,
                e.provider, e.will_retry, \(utc("e.due_at")), e.reason, e.error, e.detail, \(utc("e.at"))
            FROM (SELECT pg_current_snapshot() AS snapshot) s
            LEFT JOIN LATERAL (
                SELECT * FROM status_events WHERE published_at IS NULL AND seq > $2 ORDER BY seq LIMIT $1
            ) e ON true
            """
    }

    enum MarkPublishedStatement: PreparedSQL {
        static let name = preparedName(sql)
        static let sql = """
            WITH published AS (
                DELETE FROM status_events WHERE seq = ANY($1) AND published_at IS NULL RETURNING \(keptColumns))
            INSERT INTO published_status_events (\(keptColumns), published_at)
            SELECT \(keptColumns), now() FROM published
            """
        /// The columns a published record keeps, as both tables name them.
        static let keptColumns = """
            seq, id, reminder, reminder_id, user_id, correlation_id, type, occurrence, attempt, channel, provider, \
            will_retry, due_at, reason, error, detail, at
            """
    }

    enum DeletePublishedStatement: PreparedSQL {
        static let name = preparedName(sql)
        static let sql = "DELETE FROM status_events WHERE seq = ANY($1) AND published_at IS NULL"
    }
}

/// The status outbox as the relay sees it; `StatusEventStore` keeps it in PostgreSQL.
public protocol StatusEventStoring: OutboxLeaseStoring {
    /// The oldest unpublished records, up to `limit`, in outbox order.
    func unpublished(limit: Int) async throws(StoreError) -> [StatusEventStore.Record]

    /// Marks the records with these sequence numbers published; those already published
    /// or unknown are left alone. `handedOff`: they came from ingest's hand-off
    /// (`StatusHandOff`), not from a read.
    func markPublished(_ sequences: [Int64], handedOff: Bool) async throws(StoreError)

    /// The highest sequence any of its reads has returned.
    var scannedThrough: Int64 { get }
}

extension StatusEventStore: StatusEventStoring, OutboxLeaseForwarding {}

extension StatusEventStoring {
    /// Marks records a read returned published.
    public func markPublished(_ sequences: [Int64]) async throws(StoreError) {
        try await markPublished(sequences, handedOff: false)
    }
}

/// One relay's scan floor, shared by the copies of its store.
final class ScanFloorBox: Sendable {
    let state = Mutex(OutboxScanFloor())
}
