import Foundation
import ReminderStore
import Synchronization

/// The dead-letter outbox in memory, for tests of the relay without a database: records
/// come out oldest first, as `DeadLetterStore` returns them, until they are marked
/// published. It can be told to fail like an unreachable database, or not to answer. Its
/// lease is held until released or expired by the test.
public final class MemoryDeadLetterStore: DeadLetterStoring, OutboxLeaseForwarding {
    private struct Contents {
        /// In the order they were added, which is the outbox's order.
        var records: [DeadLetterStore.Record] = []
        var published: Set<UUID> = []
        /// Calls left to fail.
        var failures = ToldFailures()
    }

    private let contents = Mutex(Contents())
    private let stalls = StalledCalls()
    public let outboxLease = MemoryOutboxLease()

    public init() {}

    /// Adds a record to the end of the outbox, as a dead-lettering transaction does.
    public func add(_ record: DeadLetterStore.Record) {
        contents.withLock { $0.records.append(record) }
    }

    /// The ids marked published, in outbox order.
    public var publishedIDs: [UUID] {
        contents.withLock { contents in contents.records.map(\.id).filter(contents.published.contains) }
    }

    /// The next `count` calls fail as a database that cannot be reached does.
    public func failNext(_ count: Int) {
        contents.withLock { $0.failures.remaining = count }
    }

    /// The next `count` calls do not answer, even when cancelled, until `answerStalled`.
    public func stallNext(_ count: Int) {
        stalls.stall(next: count)
    }

    /// The stalled calls fail now, as a connection that went away.
    public func answerStalled() {
        stalls.answer()
    }

    public func unpublished(limit: Int) async throws(StoreError) -> [DeadLetterStore.Record] {
        try await stalls.wait("read unpublished dead letters")
        try failIfTold("read unpublished dead letters")
        return contents.withLock { contents in
            Array(contents.records.filter { !contents.published.contains($0.id) }.prefix(limit))
        }
    }

    public func markPublished(_ ids: [UUID]) async throws(StoreError) {
        guard !ids.isEmpty else { return }
        try await stalls.wait("mark \(ids.count) dead letters published")
        try failIfTold("mark \(ids.count) dead letters published")
        contents.withLock { contents in
            let known = Set(contents.records.map(\.id))
            contents.published.formUnion(ids.filter(known.contains))
        }
    }

    private func failIfTold(_ operation: String) throws(StoreError) {
        if let error = contents.withLock({ $0.failures.next(operation) }) { throw error }
    }
}
