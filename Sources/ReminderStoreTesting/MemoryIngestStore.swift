import Foundation
import ReminderCore
import ReminderStore
import Synchronization

/// Ingest's store in memory, for tests of the pipeline above the store without a database.
/// It decides exactly as `IngestStore` does in SQL (`MemoryIngestTransaction` follows its
/// statements one by one): the inbox deduplicates by idempotency key and payload, invalid
/// and conflicting events are dead-lettered, `IngestPlanner` decides what new events do to
/// their reminders and `ReplayPlanner` what a replayed dead letter does. The reminders are
/// written into the `MemoryDispatchStore` it is given, so that a test can ingest and then
/// dispatch, and replay the dead letters that store's completions wrote. A call stores all
/// of its batch or, told to fail like an unreachable database, none of it.
///
/// What it does not keep: a reminder's source message, time zone, quiet hours and trace
/// (`MemoryDispatchStore.Reminder` has no place for them), and a replay's trace.
public final class MemoryIngestStore: IngestStoring {
    /// Where a consumed message came from.
    public struct Origin: Sendable, Hashable, CustomStringConvertible {
        public let topic: String
        public let partition: Int32
        public let offset: Int64

        public init(topic: String, partition: Int32, offset: Int64) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
        }

        public var description: String { "\(topic)[\(partition)]@\(offset)" }
    }

    /// A message ingest dead-lettered, as `dead_letters` keeps it.
    public struct DeadLetter: Sendable, Equatable {
        public let id: UUID
        public let reason: DeadLetterReason
        /// What was wrong, naming the field at fault.
        public let error: String
        public let origin: Origin
        public let key: [UInt8]?
        public let value: [UInt8]?
        public let idempotencyKey: String?
        public let correlationID: String?
    }

    /// An event's entry in the inbox: its key, and the payload a later event with the same
    /// key is compared with.
    struct InboxEntry: Sendable {
        let payload: [UInt8]
        let reminderID: String
        let origin: Origin
    }

    /// The tables ingest writes besides `reminders`: what a transaction copies and writes back.
    struct Tables: Sendable {
        var inbox: [String: InboxEntry] = [:]
        /// The inbox's keys in the order they were stored.
        var inboxOrder: [String] = []
        /// In the order they were written, which is the outbox's order.
        var deadLetters: [DeadLetter] = []
        /// `dead_letter_replays`: the dead letters replayed, each reset at most once.
        var replayed: Set<UUID> = []
    }

    private struct Contents {
        var tables = Tables()
        /// Every call's messages, in the order of the calls.
        var calls: [[Origin]] = []
        /// Calls left to fail.
        var failures = ToldFailures()
    }

    private let contents = Mutex(Contents())
    /// Where the reminders the events create, replace and cancel are written.
    public let reminders: MemoryDispatchStore

    public init(reminders: MemoryDispatchStore = MemoryDispatchStore()) {
        self.reminders = reminders
    }

    /// The inbox's idempotency keys, in the order they were stored.
    public var inboxKeys: [String] { contents.withLock { $0.tables.inboxOrder } }

    /// The dead letters ingest wrote, oldest first.
    public var deadLetters: [DeadLetter] { contents.withLock { $0.tables.deadLetters } }

    /// The messages of every call so far, oldest call first, those told to fail included:
    /// what a test reads to see a batch tried again.
    public var calls: [[Origin]] { contents.withLock { $0.calls } }

    /// The next `count` calls fail as a database that cannot be reached does, storing nothing.
    public func failNext(_ count: Int) {
        contents.withLock { $0.failures.remaining = count }
    }

    public func ingest(_ records: [IngestRecord]) async throws(StoreError) -> IngestSummary {
        let reminders = self.reminders
        let result = contents.withLock { contents -> Result<IngestSummary, StoreError> in
            contents.calls.append(
                records.map { Origin(topic: $0.topic, partition: $0.partition, offset: $0.offset) })
            if let error = contents.failures.next("store a batch of \(records.count) messages") {
                return .failure(error)
            }
            // The ingest lock, then the reminders' lock: nothing takes them the other way round.
            let tables = contents.tables
            let (summary, written) = reminders.withContents { table -> (IngestSummary, Tables) in
                var transaction = MemoryIngestTransaction(tables: tables, reminders: table, now: reminders.now())
                transaction.apply(records)
                table = transaction.reminders
                return (transaction.summary, transaction.tables)
            }
            contents.tables = written
            return .success(summary)
        }
        return try result.get()
    }
}
