import Foundation
import ReminderCore
import ReminderStore
import Synchronization

/// Dead letters to browse in memory, for tests of the API without a database: the test
/// adds them, as the transactions that dead-letter would write them, and marks them
/// published and replayed; `list` and `find` then answer as `DeadLetterStore`'s query
/// does (DeadLetterStore+Browse.swift): every condition of the filter, the cursor, newest
/// first by sequence, the limit, the message only when asked for. It can be told to fail
/// like an unreachable database.
///
/// It is fed directly rather than reading `MemoryIngestStore` and `MemoryDispatchStore`:
/// neither keeps when a dead letter failed, and the dispatch store keeps only a dead
/// letter's reason, so a list read from them could filter by time only on made-up values.
public final class MemoryDeadLetterBrowser: DeadLetterBrowsing {
    /// A dead letter as `dead_letters` keeps it, with its reminder's (publisher's) id and
    /// its replay as the query joins them in.
    public struct Letter: Sendable, Equatable {
        public var id: UUID
        public var reason: DeadLetterReason
        public var error: String
        public var attempts: Int
        public var origin: MemoryIngestStore.Origin
        public var message: DeadLetterEntry.Message
        public var idempotencyKey: String?
        public var correlationID: String?
        /// The publisher's id of the reminder dead-lettered; nil for ingest's own dead
        /// letters, which name no stored reminder.
        public var reminderID: String?
        public var failedAt: Date
        public var trace: TraceContextHeaders?

        public init(
            id: UUID = UUID(), reason: DeadLetterReason, error: String = "", attempts: Int = 0,
            origin: MemoryIngestStore.Origin = MemoryIngestStore.Origin(topic: "reminders", partition: 0, offset: 0),
            message: DeadLetterEntry.Message = DeadLetterEntry.Message(key: nil, value: nil, headers: []),
            idempotencyKey: String? = nil, correlationID: String? = nil, reminderID: String? = nil, failedAt: Date,
            trace: TraceContextHeaders? = nil
        ) {
            self.id = id
            self.reason = reason
            self.error = error
            self.attempts = attempts
            self.origin = origin
            self.message = message
            self.idempotencyKey = idempotencyKey
            self.correlationID = correlationID
            self.reminderID = reminderID
            self.failedAt = failedAt
            self.trace = trace
        }
    }

    private struct Stored {
        /// `seq`: the outbox order, and the cursor of a paged list.
        let sequence: Int64
        let letter: Letter
        var publishedAt: Date?
        /// `dead_letter_replays.replayed_at`.
        var replayedAt: Date?
    }

    private struct Contents {
        /// In the order they were added, sequence ascending.
        var letters: [Stored] = []
        var nextSequence: Int64 = 1
        /// Calls left to fail.
        var failures = ToldFailures()
    }

    private let contents = Mutex(Contents())

    public init() {}

    /// Adds a dead letter after every other, as `seq` (a `bigserial`) orders them; returns
    /// its sequence.
    @discardableResult
    public func add(_ letter: Letter) -> Int64 {
        contents.withLock { contents in
            defer { contents.nextSequence += 1 }
            contents.letters.append(Stored(sequence: contents.nextSequence, letter: letter))
            return contents.nextSequence
        }
    }

    /// Marks the dead letter published at `at`, as the relay does once the broker has it.
    public func markPublished(_ id: UUID, at: Date) {
        update(id) { $0.publishedAt = $0.publishedAt ?? at }
    }

    /// Marks the dead letter replayed at `at`, as ingest does when it applies the first
    /// replay of it (later ones leave the time alone).
    public func markReplayed(_ id: UUID, at: Date) {
        update(id) { $0.replayedAt = $0.replayedAt ?? at }
    }

    /// The next `count` calls fail as a database that cannot be reached does.
    public func failNext(_ count: Int) {
        contents.withLock { $0.failures.remaining = count }
    }

    public func list(_ filter: DeadLetterFilter, before: Int64? = nil, limit: Int, includeMessage: Bool = false)
        async throws(StoreError) -> [DeadLetterEntry]
    {
        try failIfTold("list dead letters")
        let letters = contents.withLock { $0.letters }
        let newestFirst = letters.filter { stored in
            Self.matches(stored, filter) && (before.map { stored.sequence < $0 } ?? true)
        }.sorted { $0.sequence > $1.sequence }
        // PostgreSQL refuses a negative LIMIT; no caller passes one.
        return newestFirst.prefix(max(limit, 0)).map { Self.entry($0, includeMessage: includeMessage) }
    }

    public func find(_ id: UUID) async throws(StoreError) -> DeadLetterEntry? {
        try await list(DeadLetterFilter(ids: [id]), limit: 1, includeMessage: true).first
    }

    /// The query's `WHERE`, condition by condition.
    private static func matches(_ stored: Stored, _ filter: DeadLetterFilter) -> Bool {
        let letter = stored.letter
        if let ids = filter.ids, !ids.contains(letter.id) { return false }
        if let reason = filter.reason, letter.reason.rawValue != reason { return false }
        if let since = filter.since, letter.failedAt < since { return false }
        if let until = filter.until, letter.failedAt >= until { return false }
        if filter.replayableOnly {
            guard stored.replayedAt == nil, letter.reminderID != nil, letter.reason.isReplayable else { return false }
        }
        return true
    }

    private static func entry(_ stored: Stored, includeMessage: Bool) -> DeadLetterEntry {
        let letter = stored.letter
        return DeadLetterEntry(
            id: letter.id, sequence: stored.sequence, reason: letter.reason.rawValue, error: letter.error,
            attempts: letter.attempts, originalTopic: letter.origin.topic, originalPartition: letter.origin.partition,
            originalOffset: letter.origin.offset, idempotencyKey: letter.idempotencyKey,
            correlationID: letter.correlationID, reminderID: letter.reminderID,
            failedAt: letter.failedAt.databaseText, publishedAt: stored.publishedAt?.databaseText,
            replayedAt: stored.replayedAt?.databaseText, trace: letter.trace,
            message: includeMessage ? letter.message : nil)
    }

    private func update(_ id: UUID, _ change: (inout Stored) -> Void) {
        contents.withLock { contents in
            if let index = contents.letters.firstIndex(where: { $0.letter.id == id }) {
                change(&contents.letters[index])
            }
        }
    }

    private func failIfTold(_ operation: String) throws(StoreError) {
        if let error = contents.withLock({ $0.failures.next(operation) }) { throw error }
    }
}
