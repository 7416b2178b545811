/// Ingest's side of the store: a batch of consumed messages stored in one transaction
/// (the inbox's deduplication, the reminders the new events create, replace or cancel as
/// `ReminderCore`'s `IngestPlanner` decides, replays as `ReplayPlanner` decides, the dead
/// letters of what cannot be applied), all of it or none. `IngestStore` keeps it in
/// PostgreSQL; `MemoryIngestStore` (ReminderStoreTesting) in memory, for tests of the
/// pipeline above the store without a database.
public protocol IngestStoring: Sendable {
    /// Stores the batch; the caller may commit the messages' offsets once it returns. A
    /// retriable error leaves nothing stored, and the same batch may be tried again (the
    /// inbox makes a retry of a transaction that did commit store nothing twice).
    func ingest(_ records: [IngestRecord]) async throws(StoreError) -> IngestSummary
}

extension IngestStore: IngestStoring {}
