import Foundation

/// The dead-letter outbox as the relay sees it: the records not published yet, oldest
/// first, and marking them published once the broker has acknowledged them.
/// `DeadLetterStore` keeps it in PostgreSQL; `MemoryDeadLetterStore` (ReminderStoreTesting)
/// in memory, for tests of the relay without a database.
public protocol DeadLetterStoring: OutboxLeaseStoring {
    /// The oldest unpublished records, up to `limit`.
    func unpublished(limit: Int) async throws(StoreError) -> [DeadLetterStore.Record]

    /// Marks the records published; ids already published or unknown are left alone.
    func markPublished(_ ids: [UUID]) async throws(StoreError)
}

extension DeadLetterStore: DeadLetterStoring, OutboxLeaseForwarding {}
