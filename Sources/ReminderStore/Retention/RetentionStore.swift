import Foundation
import Logging
import PostgresNIO
import ReminderCore

/// Retention: what the database keeps is bounded by time, so its tables and indexes stay
/// flat under a steady load. Finished reminders go with their history, published dead
/// letters and status records and inbox keys after their windows, oldest first, a small
/// batch per transaction with a bounded statement time. Rows someone else holds locked
/// are skipped (`SKIP LOCKED`): pruning never waits on ingest or dispatch, and they wait
/// at most one small batch on it. One instance prunes at a time (a session advisory lock).
public struct RetentionStore: Sendable {
    /// What is pruned, and the metric label it is counted under.
    public enum Table: String, Sendable, CaseIterable {
        case reminders
        case reminderTransitions = "reminder_transitions"
        case deliveryAttempts = "delivery_attempts"
        case deadLetters = "dead_letters"
        case statusEvents = "status_events"
        case inbox
    }

    /// How long each kind of row is kept (nil: for ever), and how.
    public struct Policy: Sendable, Equatable {
        /// Finished reminders (delivered, cancelled, dead-lettered) after their last change.
        public var reminders: Duration?
        /// Published dead letters after they failed. A dead-lettered reminder stays while
        /// one of its dead letters does (it can be replayed until then).
        public var deadLetters: Duration?
        /// Inbox keys after they were received.
        public var inbox: Duration?
        /// Published status records after they were written.
        public var statusEvents: Duration?
        /// Keep finished reminders and their history, dead letters too, but remove their
        /// content, addresses and message bytes (`RETENTION_MODE=redact`).
        public var keepHistory: Bool
        /// Rows per transaction.
        public var batchSize: Int
        /// The most a pruning statement may take before it is cancelled.
        public var statementTimeout: Duration

        public init(
            reminders: Duration?, deadLetters: Duration?, inbox: Duration?, statusEvents: Duration?, keepHistory: Bool,
            batchSize: Int, statementTimeout: Duration
        ) {
            self.reminders = reminders
            self.deadLetters = deadLetters
            self.inbox = inbox
            self.statusEvents = statusEvents
            self.keepHistory = keepHistory
            self.batchSize = batchSize
            self.statementTimeout = statementTimeout
        }

        /// How long one call of a round (taking the lock, a batch from `BEGIN` to `COMMIT`)
        /// may go unanswered: twice the statement timeout and 10 s for the commit. Past
        /// it the round is given up and its connection closed; a call that was in flight
        /// when its connection was cut was seen never to end (`StoreDeadline`), and a
        /// graceful shutdown waited for it.
        public var callLimit: Duration { statementTimeout * 2 + .seconds(10) }
    }

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The advisory lock that makes one instance the pruner at a time (any fixed number
    /// no other part of the service locks).
    static let lockKey: Int64 = 0x6E73_7265_7465_6E74
    static let unlock: PostgresQuery = "SELECT pg_advisory_unlock(\(lockKey))"

    /// One pruning round: every kind of row past its window, a batch at a time, until a
    /// batch comes back short or `maximumBatches` batches of a kind have run (the next
    /// round goes on). Returns the rows pruned (deleted, or redacted when history is
    /// kept) by table, or nil when another instance is pruning.
    public func prune(_ policy: Policy, maximumBatches: Int = 1_000) async throws(StoreError) -> [Table: Int]? {
        do {
            return try await client.withConnection { connection in
                do {
                    let locked = try await bounded("take the pruning lock", policy) { [logger] in
                        var locked = false
                        let lock: PostgresQuery = "SELECT pg_try_advisory_lock(\(Self.lockKey))"
                        for try await value in try await connection.query(lock, logger: logger).decode(Bool.self) {
                            locked = value
                        }
                        return locked
                    }
                    guard locked else { return nil }
                    let pruned = try await pruneLocked(policy, maximumBatches: maximumBatches, on: connection)
                    try await bounded("free the pruning lock", policy) { [logger] in
                        try await connection.query(Self.unlock, logger: logger)
                    }
                    return pruned
                } catch {
                    // The session ends with the failure: PostgreSQL rolls the batch back
                    // and frees the lock, and the pool replaces the connection, which may
                    // still have a call given up in flight.
                    await connection.discard(within: policy.callLimit)
                    throw error
                }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.wrapping(error, operation: "prune rows past their retention")
        }
    }

    private func pruneLocked(_ policy: Policy, maximumBatches: Int, on connection: PostgresConnection)
        async throws -> [Table: Int]
    {
        var pruned: [Table: Int] = [:]
        // Dead letters first: a dead-lettered reminder goes once its dead letters have.
        let kinds: [(Table, Duration?)] = [
            (.deadLetters, policy.deadLetters), (.reminders, policy.reminders), (.statusEvents, policy.statusEvents),
            (.inbox, policy.inbox),
        ]
        for case (let table, let window?) in kinds {
            for _ in 0..<maximumBatches {
                try Task.checkCancellation()
                let counts = try await bounded("prune \(table.rawValue)", policy) { [self] in
                    try await batch(table, window: window, policy: policy, on: connection)
                }
                pruned.merge(counts, uniquingKeysWith: +)
                if counts[table, default: 0] < policy.batchSize { break }
            }
        }
        return pruned
    }

    /// `body` given up after the policy's `callLimit`.
    private func bounded<T: Sendable>(
        _ operation: String, _ policy: Policy, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await StoreDeadline.run(policy.callLimit, on: ContinuousClock(), operation: operation, body)
    }

    /// One batch of `table`'s rows older than `window`, in its own transaction.
    private func batch(_ table: Table, window: Duration, policy: Policy, on connection: PostgresConnection)
        async throws -> [Table: Int]
    {
        let windowMS = Int64(window.wholeMilliseconds)
        let limit = Int32(clamping: policy.batchSize)
        try await connection.query("BEGIN", logger: logger)
        let timeout = "\(max(1, policy.statementTimeout.wholeMilliseconds))ms"
        try await connection.query(
            "SELECT set_config('statement_timeout', \(timeout), true), set_config('lock_timeout', \(timeout), true)",
            logger: logger)
        let sql: String
        let tables: [Table]
        switch (table, policy.keepHistory) {
        case (.reminders, false):
            (sql, tables) = (Self.deleteRemindersSQL, [.reminders, .reminderTransitions, .deliveryAttempts])
        case (.reminders, true):
            (sql, tables) = (Self.redactRemindersSQL, [.reminders, .deliveryAttempts])
        case (.deadLetters, false):
            (sql, tables) = (Self.deleteDeadLettersSQL, [.deadLetters])
        case (.deadLetters, true):
            (sql, tables) = (Self.redactDeadLettersSQL, [.deadLetters])
        case (.statusEvents, _):
            (sql, tables) = (Self.deleteStatusEventsSQL, [.statusEvents])
        case (.inbox, _):
            (sql, tables) = (Self.deleteInboxSQL, [.inbox])
        case (.reminderTransitions, _), (.deliveryAttempts, _):
            preconditionFailure("history is pruned with its reminders")
        }
        var binds = PostgresBindings(capacity: 2)
        binds.append(windowMS)
        binds.append(limit)
        var values: (Int64, Int64, Int64) = (0, 0, 0)
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        for try await row in rows.decode((Int64, Int64, Int64).self) { values = row }
        try await connection.query("COMMIT", logger: logger)
        let all = [values.0, values.1, values.2]
        var counts: [Table: Int] = [:]
        for (index, name) in tables.enumerated() { counts[name] = Int(all[index]) }
        return counts
    }

    /// How old the oldest row each kind of pruning looks at is (nil: none), as of now.
    public func oldestAges() async throws(StoreError) -> [Table: Duration?] {
        do {
            let rows = try await client.query(PostgresQuery(unsafeSQL: Self.oldestSQL), logger: logger)
            var ages: (Double?, Double?, Double?, Double?)?
            for try await row in rows.decode((Double?, Double?, Double?, Double?).self) { ages = row }
            guard let (reminders, deadLetters, statusEvents, inbox) = ages else { return [:] }
            return [
                .reminders: reminders.map { .seconds($0) }, .deadLetters: deadLetters.map { .seconds($0) },
                .statusEvents: statusEvents.map { .seconds($0) }, .inbox: inbox.map { .seconds($0) },
            ]
        } catch {
            throw StoreError.wrapping(error, operation: "read the oldest rows kept")
        }
    }

    // MARK: - SQL ($1: the window in milliseconds; $2: the batch size). Each answers one
    // row of three counts, the first the table's own.

    static let finished = ReminderState.allCases.filter(ErasurePlanner.mayErase).map { "'\($0.rawValue)'" }
        .joined(separator: ", ")

    /// Finished reminders with no dead letter left, through the two partial indexes
    /// (content kept, content removed), with their history and pending replacements.
    static let deleteRemindersSQL = """
        WITH kept AS (
            SELECT id FROM reminders r
            WHERE state IN (\(finished)) AND erased_at IS NULL AND updated_at < now() - $1 * interval '1 millisecond'
                AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.reminder_id = r.id)
            ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED),
        erased AS (
            SELECT id FROM reminders r
            WHERE state IN (\(finished)) AND erased_at IS NOT NULL
                AND updated_at < now() - $1 * interval '1 millisecond'
                AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.reminder_id = r.id)
            ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED),
        doomed AS (SELECT id FROM kept UNION ALL SELECT id FROM erased LIMIT $2),
        transitions AS (DELETE FROM reminder_transitions WHERE reminder_id IN (SELECT id FROM doomed) RETURNING 1),
        attempts AS (DELETE FROM delivery_attempts WHERE reminder_id IN (SELECT id FROM doomed) RETURNING 1),
        replacements AS (DELETE FROM pending_replacements WHERE id IN (SELECT id FROM doomed)),
        deleted AS (DELETE FROM reminders WHERE id IN (SELECT id FROM doomed) RETURNING 1)
        SELECT (SELECT count(*) FROM deleted), (SELECT count(*) FROM transitions), (SELECT count(*) FROM attempts)
        """

    /// Finished reminders keep their row and history; their content, addresses and
    /// message bytes go, as in an erasure, and the providers' status lines.
    static let redactRemindersSQL = """
        WITH doomed AS (
            SELECT id FROM reminders
            WHERE state IN (\(finished)) AND erased_at IS NULL AND updated_at < now() - $1 * interval '1 millisecond'
            ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED),
        redacted AS (
            UPDATE reminders r SET \(ErasureStore.scrubAssignments("r")), erased_at = now()
            WHERE r.id IN (SELECT id FROM doomed) RETURNING 1),
        attempts AS (
            UPDATE delivery_attempts SET answer = '' WHERE reminder_id IN (SELECT id FROM doomed) AND answer <> ''
            RETURNING 1),
        replacements AS (DELETE FROM pending_replacements WHERE id IN (SELECT id FROM doomed))
        SELECT (SELECT count(*) FROM redacted), (SELECT count(*) FROM attempts), 0::int8
        """

    /// Published dead letters (an unpublished one waits for the relay, however old), with
    /// the record of their replays.
    static let deleteDeadLettersSQL = """
        WITH doomed AS (
            SELECT id FROM dead_letters
            WHERE published_at IS NOT NULL AND failed_at < now() - $1 * interval '1 millisecond'
            ORDER BY failed_at LIMIT $2 FOR UPDATE SKIP LOCKED),
        replays AS (DELETE FROM dead_letter_replays WHERE dead_letter_id IN (SELECT id FROM doomed)),
        deleted AS (DELETE FROM dead_letters WHERE id IN (SELECT id FROM doomed) RETURNING 1)
        SELECT (SELECT count(*) FROM deleted), 0::int8, 0::int8
        """

    static let redactDeadLettersSQL = """
        WITH doomed AS (
            SELECT id FROM dead_letters
            WHERE published_at IS NOT NULL AND failed_at < now() - $1 * interval '1 millisecond'
                AND (message_value IS NOT NULL OR message_key IS NOT NULL OR message_headers <> '[]')
            ORDER BY failed_at LIMIT $2 FOR UPDATE SKIP LOCKED),
        redacted AS (
            UPDATE dead_letters SET message_key = NULL, message_value = NULL, message_headers = '[]', sealed_with = NULL
            WHERE id IN (SELECT id FROM doomed) RETURNING 1)
        SELECT (SELECT count(*) FROM redacted), 0::int8, 0::int8
        """

    static let deleteStatusEventsSQL = """
        WITH deleted AS (
            DELETE FROM published_status_events WHERE seq IN (
                SELECT seq FROM published_status_events WHERE at < now() - $1 * interval '1 millisecond'
                ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)
            RETURNING 1)
        SELECT (SELECT count(*) FROM deleted), 0::int8, 0::int8
        """

    static let deleteInboxSQL = """
        WITH deleted AS (
            DELETE FROM inbox WHERE idempotency_key IN (
                SELECT idempotency_key FROM inbox WHERE received_at < now() - $1 * interval '1 millisecond'
                ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)
            RETURNING 1)
        SELECT (SELECT count(*) FROM deleted), 0::int8, 0::int8
        """

    /// Each through the index its pruning walks.
    static let oldestSQL = """
        SELECT extract(epoch FROM now() - least(
                (SELECT min(updated_at) FROM reminders WHERE state IN (\(finished)) AND erased_at IS NULL),
                (SELECT min(updated_at) FROM reminders WHERE state IN (\(finished)) AND erased_at IS NOT NULL)))::float8,
            extract(epoch FROM now() - (SELECT min(failed_at) FROM dead_letters WHERE published_at IS NOT NULL))::float8,
            extract(epoch FROM now() - (SELECT min(at) FROM published_status_events))::float8,
            extract(epoch FROM now() - (SELECT min(received_at) FROM inbox))::float8
        """
}
